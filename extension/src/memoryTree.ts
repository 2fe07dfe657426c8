// The "Memory" tree: Session, Validated and Archive groups with counts, and their patterns (an icon per kind, coloured
// by tier; who proposed it; a warning badge when its code changed), narrowed by the view's filter.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { filterDescription, filterMessage, matchesFilter } from './filter';
import { plural } from './feedback';
import { Kind, Pattern } from './patterns';
import { Server } from './server';

const TIERS = [
  { tier: 'session', label: 'Session', icon: 'beaker' },
  { tier: 'validated', label: 'Validated', icon: 'verified' },
  { tier: 'archive', label: 'Archive', icon: 'archive' },
] as const;
const KIND_ICONS: Record<Kind, string> = { pattern: 'code', convention: 'law', anti_pattern: 'circle-slash', failure: 'bug' };
const TIER_COLOURS: Record<Pattern['tier'], string | undefined> = { session: undefined, validated: 'charts.green', archive: 'disabledForeground' };
/** The scheme of the tree items' resource URIs: they carry the stale badge (a file decoration), nothing else. */
const SCHEME = 'scms-pattern';

export type MemoryNode = { kind: 'tier'; tier: Pattern['tier']; label: string; icon: string; patterns: Pattern[]; total: number } | { kind: 'pattern'; pattern: Pattern };

/** What the view shows when it lists no patterns: each value has its own welcome text (package.json viewsWelcome). */
export type MemoryViewState = 'noFolder' | 'starting' | 'notRunning' | 'listFailed' | 'empty' | 'patterns';

export class MemoryTree implements vscode.TreeDataProvider<MemoryNode>, vscode.FileDecorationProvider {
  private readonly emitter = new vscode.EventEmitter<MemoryNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private patterns: Pattern[] | undefined;
  private filterText = '';
  view: vscode.TreeView<MemoryNode> | undefined;

  constructor(private readonly server: Server) {}

  refresh(): void {
    this.patterns = undefined;
    this.emitter.fire(undefined);
  }

  get filter(): string {
    return this.filterText;
  }

  /** Narrow the view to the patterns whose title, note or tags hold every word of `text` ('' shows them all). */
  setFilter(text: string): void {
    this.filterText = text.trim();
    void vscode.commands.executeCommand('setContext', 'scms.memoryFiltered', this.filterText !== '');
    this.emitter.fire(undefined); // the same patterns, filtered again: no new list from the server
  }

  private show(state: MemoryViewState, message?: string): void {
    void vscode.commands.executeCommand('setContext', 'scms.memoryView', state);
    if (this.view) this.view.message = message;
  }

  async getChildren(node?: MemoryNode): Promise<MemoryNode[]> {
    if (node?.kind === 'pattern') return [];
    if (node?.kind === 'tier') return node.patterns.map((pattern) => ({ kind: 'pattern', pattern }));
    if (this.view) this.view.description = undefined;
    if (!vscode.workspace.workspaceFolders?.length) return (this.show('noFolder'), []);
    if (this.server.state === 'starting') return (this.show('starting'), []);
    if (this.server.state !== 'running') return (this.show('notRunning'), []);
    try {
      this.patterns ??= await this.server.execute<Pattern[]>('scms.list', {});
    } catch (error) {
      this.show('listFailed', `Listing the patterns failed: ${(error as Error).message}`);
      return [];
    }
    const all = this.patterns;
    if (all.length === 0) return (this.show('empty'), []); // the view's welcome text explains what to do
    const shown = this.filterText ? all.filter((p) => matchesFilter(p, this.filterText)) : all;
    if (this.view && this.filterText) this.view.description = filterDescription(this.filterText, shown.length, all.length);
    this.show('patterns', this.filterText ? filterMessage(this.filterText, shown.length, all.length) : undefined);
    if (shown.length === 0) return [];
    return TIERS.map(({ tier, label, icon }) => ({
      kind: 'tier', tier, label, icon, patterns: shown.filter((p) => p.tier === tier), total: all.filter((p) => p.tier === tier).length,
    }));
  }

  getTreeItem(node: MemoryNode): vscode.TreeItem {
    if (node.kind === 'tier') {
      const count = this.filterText ? `${node.patterns.length} of ${node.total}` : `${node.patterns.length}`;
      const collapsed = node.patterns.length === 0 || (node.tier === 'archive' && !this.filterText);
      const item = new vscode.TreeItem(`${node.label} (${count})`,
        collapsed ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.Expanded);
      // a new id when a group gains its first pattern or a filter: VS Code would keep it as collapsed as it was
      item.id = `tier:${node.tier}${node.patterns.length ? '' : ':empty'}${this.filterText ? ':filtered' : ''}`;
      item.iconPath = new vscode.ThemeIcon(node.icon);
      item.contextValue = `tier.${node.tier}`;
      return item;
    }
    return patternItem(node.pattern);
  }

  /** The stale badge on a pattern's row. */
  provideFileDecoration(uri: vscode.Uri): vscode.FileDecoration | undefined {
    if (uri.scheme !== SCHEME || !uri.query.startsWith('stale=')) return undefined;
    const count = Number(uri.query.slice('stale='.length));
    return new vscode.FileDecoration('!', `stale: the code of ${plural(count, 'place')} it cites changed or went (Re-anchor, or Forget)`,
      new vscode.ThemeColor('list.warningForeground'));
  }
}

function patternItem(p: Pattern): vscode.TreeItem {
  const stale = p.stale?.length ?? 0;
  const item = new vscode.TreeItem(p.title, vscode.TreeItemCollapsibleState.None);
  item.id = `pattern:${p.id}`;
  item.resourceUri = vscode.Uri.from({ scheme: SCHEME, path: `/${p.id}`, query: stale ? `stale=${stale}` : '' });
  item.description = [
    plural(p.accepted_uses, 'use'), p.score.toFixed(2), ...(p.eligible ? ['eligible'] : []),
    ...(stale ? ['stale'] : []), ...(p.proposed_by ? [`proposed by ${p.proposed_by}`] : []),
  ].join(' · ');
  item.contextValue = `pattern.${p.tier}${stale ? '.stale' : ''}`;
  const colour = TIER_COLOURS[p.tier];
  item.iconPath = new vscode.ThemeIcon(KIND_ICONS[p.kind] ?? 'code', colour ? new vscode.ThemeColor(colour) : undefined);

  const tooltip = new vscode.MarkdownString();
  tooltip.appendMarkdown(`**${escape(p.title)}** · ${p.tier} · ${p.kind.replace('_', '-')}\n\n`);
  tooltip.appendMarkdown(`${plural(p.accepted_uses, 'accepted use')}, ${plural(p.rejected_uses, 'rejection')}, retention ${p.score.toFixed(3)}\n\n`);
  if (p.proposed_by) tooltip.appendMarkdown(`Proposed by ${escape(p.proposed_by)} (an AI agent, through MCP)\n\n`);
  if (p.tags?.length) tooltip.appendMarkdown(`Tags: ${p.tags.map(escape).join(', ')}\n\n`);
  if (stale) {
    const where = (p.stale ?? []).slice(0, 3).map((e) => `${escape(e.file)} ${e.start_line}–${e.end_line}`).join(', ');
    tooltip.appendMarkdown(`⚠ Stale: the code it cites changed or went (${where}${stale > 3 ? ` and ${stale - 3} more` : ''}); Re-anchor is in the context menu\n\n`);
  }
  if (p.body) tooltip.appendMarkdown(`${escape(p.body)}\n\n`);
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

/** Text shown as it is in a markdown tooltip. */
function escape(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!<>|~]/g, '\\$&');
}
