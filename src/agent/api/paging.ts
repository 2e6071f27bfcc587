// Paging of the API's lists: a list in its natural order (oldest first) cut to the page a
// query asks for (`reversed`, then `offset`, then `limit`).

export interface Page {
  limit?: number;
  offset?: number;
  reversed?: boolean;
}

/** The page of `items` (oldest first) that `page` asks for. */
export function pageOf<T>(items: readonly T[], page: Page): T[] {
  const ordered = page.reversed === true ? [...items].reverse() : [...items];
  const start = page.offset ?? 0;
  return ordered.slice(start, page.limit === undefined ? undefined : start + page.limit);
}

/**
 * How many of the newest items a page needs, when only the newest are read: offset + limit for
 * a newest-first page with a limit; undefined (all) otherwise.
 */
export function newestNeeded(page: Page): number | undefined {
  return page.reversed === true && page.limit !== undefined ? (page.offset ?? 0) + page.limit : undefined;
}
