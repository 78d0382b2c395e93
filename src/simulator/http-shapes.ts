import { isRecord } from '../shared/is-record.js';

/** Answers and request-reading helpers shared by the simulator's routes; no state. */

export interface SimResult {
  status: number;
  body: unknown;
  /** Sent as text (`text/plain` unless `contentType` says otherwise) instead of JSON. */
  text?: boolean;
  contentType?: string;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  409: 'Conflict',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function statusText(status: number): string | undefined {
  return STATUS_TEXT[status];
}

export function errorBody(status: number, message: string): { statusCode: number; error: string; message: string } {
  return { statusCode: status, error: STATUS_TEXT[status] ?? 'Error', message };
}

export function fail(status: number, message: string): SimResult {
  return { status, body: errorBody(status, message) };
}

export function ok(body: unknown): SimResult {
  return { status: 200, body };
}

export interface PageRequest {
  page: number;
  perPage: number;
}

/** VideoSDK's `page` (default 1) and `perPage` (default 20); nonsense falls back to the defaults. */
export function readPage(query: Record<string, string | undefined>): PageRequest {
  const perPage = Math.min(Math.max(Number.parseInt(query.perPage ?? '20', 10) || 20, 1), 100);
  const page = Math.max(Number.parseInt(query.page ?? '1', 10) || 1, 1);
  return { page, perPage };
}

/** One page of `items` and VideoSDK's `pageInfo` for it. */
export function pageOf<T>(items: readonly T[], { page, perPage }: PageRequest): { pageInfo: Record<string, number>; items: T[] } {
  const lastPage = Math.max(1, Math.ceil(items.length / perPage));
  return {
    pageInfo: { currentPage: page, perPage, lastPage, total: items.length },
    items: items.slice((page - 1) * perPage, page * perPage),
  };
}

export function asRecord(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}
