// The status bar item: counts per tier and the recall state; clicking it opens the memory view.
import * as vscode from 'vscode';
import { Status } from './patterns';
import { ServerState } from './server';

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
      starting: ['$(sync~spin) SCMS', 'SCMS: the pattern memory is starting'],
      running: ['$(database) SCMS', 'SCMS: running'],
      stopped: ['$(circle-slash) SCMS', 'SCMS: not running (open a folder, or run "SCMS: Restart Server")'],
      failed: ['$(error) SCMS', 'SCMS: the server is not running; see the SCMS output'],
    };
    [this.item.text, this.item.tooltip] = texts[state];
    this.item.backgroundColor = state === 'failed' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  }

  showStatus(status: Status): void {
    const { session, validated, archive } = status.tiers;
    const recall = status.recall === 'loading model' ? ' $(loading~spin)' : status.recall.startsWith('lexical (') ? ' $(warning)' : '';
    this.item.text = `$(database) SCMS ${session} · ${validated}${recall}`;
    this.item.tooltip = new vscode.MarkdownString(
      `**SCMS pattern memory**\n\n${session} session · ${validated} validated · ${archive} archived\n\n`
      + `Recall: ${status.recall}\n\nPromotion after ${status.promotionThreshold} accepted uses`);
    this.item.backgroundColor = undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}
