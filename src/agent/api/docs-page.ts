// The /docs page: a small viewer of /openapi.json (./docs-page/: one HTML file, its script and its
// style sheet), served by the agent itself with a content security policy that lets the page load
// nothing but its own files and the document; no CDN, nothing fetched from elsewhere at run time.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RequestHandler, Response } from 'express';

/** The viewer's files: beside this module, or in src/ when running from dist/. */
function docsPageDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'docs-page'), resolve(here, '../../../../src/agent/api/docs-page')];
  return candidates.find((dir) => existsSync(join(dir, 'index.html'))) ?? candidates[0]!;
}

const DIR = docsPageDir();

/** The page's own files, by the path they are served at. */
export const DOCS_PAGE_FILES: Readonly<Record<string, { file: string; type: string }>> = {
  '/docs': { file: 'index.html', type: 'text/html' },
  '/docs/viewer.js': { file: 'viewer.js', type: 'text/javascript' },
  '/docs/viewer.css': { file: 'viewer.css', type: 'text/css' },
};

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'";

function send(res: Response, path: string): void {
  const { file, type } = DOCS_PAGE_FILES[path]!;
  res.set('Content-Security-Policy', CSP).type(type).sendFile(join(DIR, file));
}

/** GET /docs: the page. */
export const docsPage: RequestHandler = (_req, res) => send(res, '/docs');

/** Its script and style sheet (not routes of the API: files of the page, like the web page's). */
export const docsPageAssets: RequestHandler = (req, res, next) => {
  if (req.method !== 'GET' || req.path === '/docs' || DOCS_PAGE_FILES[req.path] === undefined) return next();
  send(res, req.path);
};
