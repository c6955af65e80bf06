// Opens a URL in the user's browser without waiting for it: the opener is detached and its exit is
// not awaited (xdg-open can block until the browser exits). Returns false when there is no opener.

import { spawn } from 'node:child_process';

export function openerCommand(platform: NodeJS.Platform = process.platform): string {
  return platform === 'darwin' ? 'open' : 'xdg-open';
}

export function openBrowser(url: string, onFail: (why: string) => void): void {
  // A desktop-less Linux (SSH, CI) has no browser to open: do not even try.
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return onFail('no display');
  try {
    const child = spawn(openerCommand(), [url], { detached: true, stdio: 'ignore' });
    child.on('error', (err) => onFail(err.message));
    child.unref();
  } catch (err) {
    onFail((err as Error).message);
  }
}
