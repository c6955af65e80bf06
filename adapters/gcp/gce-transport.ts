// The GceProvider's transport on a real GCP project: google-auth-library signs each Compute API
// request. The credentials are the JSON the operator stored in Secrets Manager
// (gcpCredentialsSecretArn): a Workload Identity Federation config (`external_account`, which lets
// the Lambda's own AWS role obtain short-lived GCP tokens; no GCP key leaves GCP) or, less safely, a
// service-account key. Loaded lazily, so Lambdas without GCP never load the library.

import { ValidationError } from '../../core/errors.ts';
import type { GceTransport } from './gce-provider.ts';

/**
 * The project the credentials name, when they name one: a key's project_id, or the home project of
 * the service account a WIF config impersonates. (quota_project_id is a billing project, not where
 * VMs belong.) Set GCP_PROJECT when the VMs belong elsewhere.
 */
export function projectOfCredentials(json: Record<string, unknown>): string | undefined {
  if (typeof json.project_id === 'string') return json.project_id;
  // WIF impersonation URL: …/serviceAccounts/NAME@PROJECT.iam.gserviceaccount.com:generateAccessToken
  const url = typeof json.service_account_impersonation_url === 'string' ? json.service_account_impersonation_url : '';
  return /@([a-z][a-z0-9-]{4,28}[a-z0-9])\.iam\.gserviceaccount\.com/.exec(url)?.[1];
}

export function parseGcpCredentials(text: string, where: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ValidationError(`${where} does not hold JSON (a Workload Identity Federation config or a service-account key)`);
  }
  const type = (json as { type?: unknown } | null)?.type;
  if (type !== 'external_account' && type !== 'service_account') {
    throw new ValidationError(`${where}: "type" must be external_account (Workload Identity Federation) or service_account, got ${JSON.stringify(type)}`);
  }
  return json as Record<string, unknown>;
}

export async function googleAuthTransport(credentials: Record<string, unknown>): Promise<GceTransport> {
  const { GoogleAuth } = await import('google-auth-library');
  const auth = new GoogleAuth({ credentials: credentials as never, scopes: ['https://www.googleapis.com/auth/compute'] });
  const client = await auth.getClient();
  return async (req) => {
    let res;
    try {
      res = await client.request({
      url: req.url,
      method: req.method,
      ...(req.body !== undefined ? { data: req.body } : {}),
      // Answers are mapped by GceProvider; never throw on an HTTP status here.
      validateStatus: () => true,
      responseType: 'json',
      });
    } catch (err) {
      // With every status accepted, what still throws is getting a token: an HTTP answer from the
      // token service means the credentials are refused (not a blip to retry); anything else is the
      // network, which GceProvider retries.
      const answer = (err as { response?: { status?: number; data?: unknown } }).response;
      if (!answer) throw err;
      const detail = typeof answer.data === 'object' ? JSON.stringify(answer.data) : String(answer.data ?? '');
      const message = `GCP credentials were refused (HTTP ${answer.status ?? '?'} from the token service): ${detail.slice(0, 300)}`;
      return { status: 401, data: { error: { code: 401, message, errors: [{ reason: 'authError', message }] } } };
    }
    return { status: res.status, data: res.data };
  };
}
