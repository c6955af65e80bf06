// Reading a synthesized template: CloudFormation intrinsics rendered as text, IAM statements with the
// role they belong to, and the resource dependency graph.

import type { TemplateJson } from './synth.ts';

/** Renders an intrinsic as text: Ref X → `<X>`, GetAtt [X, A] → `<X.A>`, Join → concatenation. */
export function render(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if ('Ref' in o) return `<${o.Ref as string}>`;
    if ('Fn::GetAtt' in o) return `<${(o['Fn::GetAtt'] as string[]).join('.')}>`;
    if ('Fn::Join' in o) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map(render).join(sep);
    }
    if ('Fn::Sub' in o) return String(o['Fn::Sub']);
  }
  return JSON.stringify(v);
}

export interface Statement {
  /** Logical IDs of the roles the statement's policy is attached to. */
  roles: string[];
  /** Logical ID of the policy (or role, for inline role policies). */
  owner: string;
  Sid?: string;
  Effect: string;
  actions: string[];
  /** Rendered resources (`*` stays `*`). */
  resources: string[];
  Condition?: Record<string, Record<string, unknown>>;
}

const list = <T,>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every IAM statement in the template: managed-by-stack policies and inline role policies. */
export function iamStatements(t: TemplateJson): Statement[] {
  const out: Statement[] = [];
  const add = (owner: string, roles: string[], doc: unknown) => {
    for (const s of list((doc as { Statement?: unknown[] })?.Statement) as Record<string, unknown>[]) {
      out.push({
        roles,
        owner,
        Sid: s.Sid as string | undefined,
        Effect: s.Effect as string,
        actions: list(s.Action as string | string[]),
        resources: list(s.Resource as unknown).map(render),
        Condition: s.Condition as Statement['Condition'],
      });
    }
  };
  for (const [id, r] of Object.entries(t.Resources)) {
    if (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') {
      const roles = list(r.Properties?.Roles as unknown[]).map((x) => render(x).replace(/^<|>$/g, ''));
      add(id, roles, r.Properties?.PolicyDocument);
    }
    if (r.Type === 'AWS::IAM::Role') for (const p of list(r.Properties?.Policies as { PolicyDocument: unknown }[])) add(id, [id], p.PolicyDocument);
  }
  return out;
}

/** Logical IDs a value refers to (Ref, GetAtt, Sub with ${X}). Pseudo parameters excluded. */
export function references(v: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(v)) for (const x of v) references(x, into);
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (k === 'Ref' && typeof x === 'string' && !x.startsWith('AWS::')) into.add(x);
      else if (k === 'Fn::GetAtt') into.add((x as string[])[0]!);
      else if (k === 'Fn::Sub' && typeof x === 'string') for (const m of x.matchAll(/\$\{([A-Za-z0-9]+)(\.[A-Za-z]+)?\}/g)) into.add(m[1]!);
      else references(x, into);
    }
  }
  return into;
}

/** A dependency cycle among resources (CloudFormation refuses such a template), or undefined. */
export function findCycle(t: TemplateJson): string[] | undefined {
  const ids = new Set(Object.keys(t.Resources));
  const edges = new Map<string, string[]>();
  for (const [id, r] of Object.entries(t.Resources)) {
    const deps = references(r.Properties);
    for (const d of list(r.DependsOn)) deps.add(d);
    edges.set(id, [...deps].filter((d) => ids.has(d)));
  }
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'visiting') return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 'visiting');
    stack.push(id);
    for (const d of edges.get(id) ?? []) {
      const c = visit(d);
      if (c) return c;
    }
    stack.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const id of ids) {
    const c = visit(id);
    if (c) return c;
  }
  return undefined;
}
