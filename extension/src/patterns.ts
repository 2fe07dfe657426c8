// The pattern JSON the server returns, as the client reads it.
export interface Evidence { file: string; start_line: number; end_line: number }

export const KINDS = ['pattern', 'convention', 'anti_pattern', 'failure'] as const;
export type Kind = typeof KINDS[number];

export interface Pattern {
  id: string;
  title: string;
  body: string;
  snippet: string;
  kind: Kind;
  languages: string[];
  tags: string[];
  tier: 'session' | 'validated' | 'archive';
  status: string;
  accepted_uses: number;
  rejected_uses: number;
  score: number;
  eligible: boolean;
  /** The validated file, workspace-relative (null outside the validated tier). */
  file: string | null;
  evidence: Evidence[];
  /** The AI agent that proposed it through MCP; null when a person remembered it. */
  proposed_by?: string | null;
  /** Evidence entries whose code changed or went (`scms.reanchor` points them at where the code is now). */
  stale?: Evidence[];
}

/** What `scms.accept` answers: the pattern, and whether this was a new use (false: this code is already evidence). */
export type Accepted = Pattern & { counted?: boolean };

/** What `scms.closeSession` answers; `path` is the saved `.scms/sessions/<date>-<time>.md`. */
export interface ClosedSession { promoted: Pattern[]; archived: Pattern[]; report: string; path?: string }

export interface Status {
  workspace: string;
  tiers: { session: number; validated: number; archive: number };
  recall: string;
  promotionThreshold: number;
}

export interface Recalled { pattern: Pattern; score: number; reasons: string[] }

/** What `scms.export` answers: workspace-relative paths, and the files it would not write with the reason. */
export interface ExportReport {
  written: string[];
  changed: string[];
  removed: string[];
  unchanged: string[];
  skipped: { path: string; reason: string }[];
}

/** What `scms.import` answers: the patterns imported, and each file or item skipped with its reason. */
export interface ImportReport {
  imported: Pattern[];
  skipped: { path: string; reason: string; title?: string }[];
}
