// The status bar item: counts per tier and the recall mode; clicking it opens the memory view.
import * as vscode from 'vscode';
import { plural } from './feedback';
import { Status } from './patterns';
import { NO_FOLDER, ServerState } from './server';

/** The recall mode as the status bar marks it, and as the tooltip explains it. */
const RECALL: Record<string, [string, string]> = {
  'lexical': ['lexical', 'by shared terms only (embeddings are off)'],
  'loading model': ['$(loading~spin) lexical', 'by shared terms while the embedding model loads'],
  'embeddings': ['$(sparkle)', 'by meaning (local embeddings) and shared terms'],
  'lexical (model failed)': ['$(warning) lexical', 'by shared terms only: the embedding model failed to load (see the SCMS output)'],
};

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('scms.status', vscode.StatusBarAlignment.Right, 100);

  constructor() {
    this.item.name = 'SCMS';
    this.item.command = 'scms.showMemory';
    this.showState('starting');
    this.item.show();
  }

  showState(state: ServerState): void {
    const texts: Record<ServerState, [string, string]> = {
      starting: ['$(sync~spin) SCMS', 'SCMS: the server is starting'],
      running: ['$(database) SCMS', 'SCMS: running'],
      stopped: ['$(circle-slash) SCMS', `SCMS: not running. ${NO_FOLDER}`],
      failed: ['$(error) SCMS', 'SCMS: the server is not running; see the SCMS output, then run "SCMS: Restart Server"'],
    };
    [this.item.text, this.item.tooltip] = texts[state];
    this.item.accessibilityInformation = { label: texts[state][1] };
    this.item.backgroundColor = state === 'failed' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  }

  /** `SCMS 3 · 1 · lexical` while recall is by shared terms, `SCMS 3 · 1 · ✨` once embeddings are ready. */
  showStatus(status: Status): void {
    const { session, validated, archive } = status.tiers;
    // before the server starts loading the model it says `lexical`, as it does with embeddings off
    const loading = status.recall === 'lexical' && vscode.workspace.getConfiguration('scms').get<boolean>('recall.embeddings', true) !== false;
    const [marker, meaning] = RECALL[loading ? 'loading model' : status.recall] ?? [status.recall, status.recall];
    this.item.text = `$(database) SCMS ${session} · ${validated} · ${marker}`;
    this.item.tooltip = new vscode.MarkdownString(
      `**SCMS pattern memory**\n\n${session} session · ${validated} validated · ${archive} archived\n\n`
      + `Recall ${meaning}\n\nPromotion after ${plural(status.promotionThreshold, 'accepted use')}`, true);
    this.item.accessibilityInformation = {
      label: `SCMS: ${session} session and ${validated} validated patterns; recall ${meaning}`,
    };
    this.item.backgroundColor = undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}
