// Exports as files: download through the API with the client's token, then save in a browser.
import { exportAlumni } from './gen/endpoints/alumni/alumni';
import type { ExportAlumniParams } from './gen/model';
import type { Download, RequestOptions } from './http';

/**
 * Downloads GET /api/v1/alumni/export with these filters as a Blob named after the server's
 * Content-Disposition (alumni-<date>.csv). Rejects with a ProblemError on a refused request.
 */
export function downloadAlumniExport(params: ExportAlumniParams = { format: 'csv' }, request?: RequestOptions): Promise<Download> {
  return exportAlumni(params, request);
}

/** Saves a download in the browser as a file (an object URL and a clicked link). */
export function saveDownload(d: Download): void {
  const url = URL.createObjectURL(d.blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = d.filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
