// The "SCMS Memory" tree: Session, Validated and Archive groups with counts, and their patterns.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { Pattern } from './patterns';
import { Server } from './server';

const TIERS = [
  { tier: 'session', label: 'Session', icon: 'beaker' },
  { tier: 'validated', label: 'Validated', icon: 'verified' },
  { tier: 'archive', label: 'Archive', icon: 'archive' },
] as const;

export type MemoryNode = { kind: 'tier'; tier: Pattern['tier']; label: string; icon: string; patterns: Pattern[] } | { kind: 'pattern'; pattern: Pattern };

/** What the view shows when it lists no patterns: each value has its own welcome text (package.json viewsWelcome). */
export type MemoryViewState = 'noFolder' | 'starting' | 'notRunning' | 'listFailed' | 'empty' | 'patterns';

export class MemoryTree implements vscode.TreeDataProvider<MemoryNode> {
  private readonly emitter = new vscode.EventEmitter<MemoryNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private patterns: Pattern[] | undefined;
  view: vscode.TreeView<MemoryNode> | undefined;

  constructor(private readonly server: Server) {}

  refresh(): void {
    this.patterns = undefined;
    this.emitter.fire(undefined);
  }

  private show(state: MemoryViewState, message?: string): void {
    void vscode.commands.executeCommand('setContext', 'scms.memoryView', state);
    if (this.view) this.view.message = message;
  }

  async getChildren(node?: MemoryNode): Promise<MemoryNode[]> {
    if (node?.kind === 'pattern') return [];
    if (node?.kind === 'tier') return node.patterns.map((pattern) => ({ kind: 'pattern', pattern }));
    if (!vscode.workspace.workspaceFolders?.length) return (this.show('noFolder'), []);
    if (this.server.state === 'starting') return (this.show('starting'), []);
    if (this.server.state !== 'running') return (this.show('notRunning'), []);
    try {
      this.patterns ??= await this.server.execute<Pattern[]>('scms.list', {});
    } catch (error) {
      this.show('listFailed', `Listing the patterns failed: ${(error as Error).message}`);
      return [];
    }
    this.show(this.patterns.length ? 'patterns' : 'empty');
    if (this.patterns.length === 0) return []; // the view's welcome text explains what to do
    return TIERS.map(({ tier, label, icon }) => ({
      kind: 'tier', tier, label, icon, patterns: (this.patterns ?? []).filter((p) => p.tier === tier),
    }));
  }

  getTreeItem(node: MemoryNode): vscode.TreeItem {
    if (node.kind === 'tier') {
      const item = new vscode.TreeItem(`${node.label} (${node.patterns.length})`,
        node.tier === 'archive' || node.patterns.length === 0 ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.Expanded);
      item.id = `tier:${node.tier}`;
      item.iconPath = new vscode.ThemeIcon(node.icon);
      item.contextValue = `tier.${node.tier}`;
      return item;
    }
    const p = node.pattern;
    const item = new vscode.TreeItem(p.title, vscode.TreeItemCollapsibleState.None);
    item.id = `pattern:${p.id}`;
    item.description = `${p.accepted_uses} ${p.accepted_uses === 1 ? 'use' : 'uses'} · ${p.score.toFixed(2)}${p.eligible ? ' · eligible' : ''}`;
    item.contextValue = `pattern.${p.tier}`;
    item.iconPath = new vscode.ThemeIcon(p.kind === 'failure' || p.kind === 'anti_pattern' ? 'warning' : 'symbol-snippet');
    const tooltip = new vscode.MarkdownString(`**${p.title}** · ${p.tier} · ${p.kind}\n\n`
      + `${p.accepted_uses} accepted, ${p.rejected_uses} rejected, retention ${p.score.toFixed(3)}\n\n`);
    if (p.body) tooltip.appendMarkdown(`${p.body}\n\n`);
    tooltip.appendCodeblock(p.snippet.split('\n').slice(0, 15).join('\n'), p.languages[0] ?? '');
    item.tooltip = tooltip;
    const first = p.evidence[0];
    const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    if (first && root) {
      const file = path.isAbsolute(first.file) ? first.file : path.join(root, first.file);
      item.command = {
        command: 'vscode.open', title: 'Show where it was seen',
        arguments: [vscode.Uri.file(file), { selection: new vscode.Range(first.start_line - 1, 0, first.end_line - 1, 0) }],
      };
    }
    return item;
  }
}
