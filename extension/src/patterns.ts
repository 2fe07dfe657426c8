// The pattern JSON the server returns, as the client reads it.
export interface Evidence { file: string; start_line: number; end_line: number }

export interface Pattern {
  id: string;
  title: string;
  body: string;
  snippet: string;
  kind: string;
  languages: string[];
  tier: 'session' | 'validated' | 'archive';
  status: string;
  accepted_uses: number;
  rejected_uses: number;
  score: number;
  eligible: boolean;
  /** The validated file, workspace-relative (null outside the validated tier). */
  file: string | null;
  evidence: Evidence[];
}

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
