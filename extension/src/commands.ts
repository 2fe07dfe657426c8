// The palette commands under "SCMS", the memory view's actions, and the client commands the code actions run: each
// gathers what it needs from the editor and hands it to PatternActions or to the prompts in editing.ts.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { PatternActions } from './actions';
import { LspRange, editPattern, rememberRange, saveShape } from './editing';
import { plural } from './feedback';
import { MemoryNode, MemoryTree } from './memoryTree';
import { Messages } from './messages';
import { ClosedSession, ExportReport, ImportReport, Pattern, Recalled } from './patterns';
import { NO_FOLDER, Server } from './server';

type PatternPick = vscode.QuickPickItem & { pattern: Pattern };

export function registerCommands(context: vscode.ExtensionContext, server: Server, messages: Messages, actions: PatternActions,
  tree: MemoryTree, refresh: () => void): void {
  const run = (id: string, action: (...args: any[]) => Promise<unknown>) =>
    context.subscriptions.push(vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        await action(...args);
      } catch (error) {
        const message = (error as Error).message;
        void (message === NO_FOLDER ? messages.replyWarning(`SCMS: ${message}`) : messages.replyError(`SCMS: ${message}`));
      }
    }));

  run('scms.rememberSelection', async () => {
    const editor = vscode.window.activeTextEditor;
    if (!vscode.workspace.workspaceFolders?.length) return void messages.replyWarning(`SCMS: ${NO_FOLDER}`);
    if (!editor) return void messages.replyWarning('SCMS: open a file and select the code to remember first.');
    if (editor.selection.isEmpty) return void messages.replyWarning('SCMS: select the code to remember first.');
    if (editor.document.uri.scheme !== 'file') return void messages.replyWarning('SCMS: save the file first; SCMS remembers code from files.');
    const { start, end } = editor.selection;
    await rememberRange(server, messages, editor.document.uri.toString(),
      { start: { line: start.line, character: start.character }, end: { line: end.line, character: end.character } });
  });
  // what the code actions "Remember selection as pattern" and "Save as pattern…" run (middleware.ts points them here)
  run('scms.rememberRange', async (argument: { uri: string; range: LspRange }) => rememberRange(server, messages, argument.uri, argument.range));
  run('scms.saveShapeAs', async (argument: { shape: string; title?: string }) => saveShape(server, messages, argument));

  /** The pattern a command is about: the tree's node, a card link's `{patternId}`, or one the user picks. */
  const pick = async (placeHolder: string, tiers: Pattern['tier'][], target?: MemoryNode | { patternId?: string }): Promise<Pattern | undefined> => {
    if (target && 'kind' in target && target.kind === 'pattern') return target.pattern;
    if (target && 'patternId' in target && target.patternId) return actions.get(target.patternId);
    const here = await recalledHere(server);
    const all = (await server.execute<Pattern[]>('scms.list', {})).filter((p) => tiers.includes(p.tier));
    const items: PatternPick[] = [
      ...here.filter((r) => tiers.includes(r.pattern.tier)).map((r) => ({ label: `$(target) ${r.pattern.title}`, description: 'recalled here', detail: r.reasons[0], pattern: r.pattern })),
      ...all.filter((p) => !here.some((r) => r.pattern.id === p.id)).map((p) => ({ label: p.title, description: `${p.tier} · ${plural(p.accepted_uses, 'use')}`, pattern: p })),
    ];
    if (items.length === 0) {
      void messages.replyWarning(`SCMS: there is no ${tiers.join(' or ')} pattern to choose from.`);
      return undefined;
    }
    return (await vscode.window.showQuickPick(items, { placeHolder, matchOnDescription: true }))?.pattern;
  };

  const cursor = () => {
    const editor = vscode.window.activeTextEditor;
    if (!editor || editor.document.uri.scheme !== 'file') return {};
    const { line, character } = editor.selection.active;
    return { uri: editor.document.uri.toString(), position: { line, character } };
  };

  // from the view: no context (a use or rejection of the pattern as such); from the palette: the code at the cursor
  run('scms.acceptPattern', async (node?: MemoryNode) => {
    const p = await pick('Accept which pattern?', ['session', 'validated'], node);
    if (p) await actions.accept({ patternId: p.id, ...(node ? {} : cursor()) });
  });
  run('scms.rejectPattern', async (node?: MemoryNode) => {
    const p = await pick('Reject which pattern?', ['session', 'validated'], node);
    if (p) await actions.reject({ patternId: p.id, ...(node ? {} : cursor()) });
  });
  const simple = (id: string, verb: string, tiers: Pattern['tier'][], action: (p: Pattern) => Promise<unknown>) =>
    run(id, async (target?: MemoryNode | { patternId?: string }) => {
      const p = await pick(`${verb} which pattern?`, tiers, target);
      if (p) await action(p);
    });
  simple('scms.promotePattern', 'Promote', ['session'], (p) => actions.promote(p));
  simple('scms.demotePattern', 'Demote', ['validated'], (p) => actions.demote(p));
  simple('scms.forgetPattern', 'Forget', ['session', 'validated'], (p) => actions.forget(p));
  simple('scms.restorePattern', 'Restore', ['archive'], (p) => actions.restore(p));
  simple('scms.purgePattern', 'Purge', ['session', 'validated', 'archive'], (p) => actions.purge(p));
  simple('scms.reanchorPattern', 'Re-anchor', ['session', 'validated'], (p) => actions.reanchor(p));
  simple('scms.editPattern', 'Edit', ['session', 'validated', 'archive'], (p) => editPattern(server, messages, p));

  run('scms.promoteAllEligible', async () => actions.promoteEligible());
  run('scms.filterMemory', async () => {
    await vscode.commands.executeCommand('scmsMemory.focus'); // from the palette too: the view narrows as you type
    const before = tree.filter;
    const box = vscode.window.createInputBox();
    box.title = 'SCMS: Filter the memory view';
    box.prompt = 'Words that the title, note or tags of each pattern shown hold. Enter keeps the filter; Escape puts back the one before';
    box.value = before;
    box.ignoreFocusOut = true; // only Enter or Escape ends it
    let kept = false;
    box.onDidChangeValue((value) => tree.setFilter(value));
    box.onDidAccept(() => { kept = true; box.hide(); });
    box.onDidHide(() => {
      if (!kept) tree.setFilter(before);
      box.dispose();
    });
    box.show();
  });
  run('scms.clearMemoryFilter', async () => tree.setFilter(''));
  run('scms.exportRules', async () => {
    const report = await server.execute<ExportReport>('scms.export', {});
    const touched = [...report.written, ...report.changed];
    // a status bar message is one line: past two files it counts them, and the output lists them
    const files = (paths: string[]) => (paths.length <= 2 ? paths.join(', ') : `${paths.length} rule files`);
    const parts = [
      touched.length ? `wrote ${files(touched)}` : 'the rule files were already up to date',
      ...(report.removed.length ? [`removed ${files(report.removed)}`] : []),
    ];
    if (touched.length > 2 || report.removed.length > 2) {
      messages.note(`SCMS: export wrote ${touched.join(', ') || 'nothing'}${report.removed.length ? `; removed ${report.removed.join(', ')}` : ''}.`);
      parts.push('the SCMS output lists them');
    }
    messages.info(`SCMS: ${parts.join('; ')}.`);
    for (const skipped of report.skipped) void messages.replyWarning(`SCMS: did not write ${skipped.path}: ${skipped.reason}`);
  });
  run('scms.importRules', async () => {
    const root = vscode.workspace.workspaceFolders?.[0]?.uri;
    if (!root) return void messages.replyWarning(`SCMS: ${NO_FOLDER}`);
    const picked = await vscode.window.showOpenDialog({
      title: 'SCMS: Import the SCMS kit\'s memories and rules, or rule files written for AI assistants',
      defaultUri: root, canSelectFiles: true, canSelectFolders: true, canSelectMany: true, openLabel: 'Import',
    });
    if (!picked?.length) return;
    const report = await server.execute<ImportReport>('scms.import', { paths: picked.map((uri) => uri.fsPath) });
    for (const skipped of report.skipped) messages.note(`SCMS: not imported: ${skipped.path}${skipped.title ? ` (${skipped.title})` : ''}: ${skipped.reason}`);
    const counted = `imported ${plural(report.imported.length, 'pattern')}`;
    if (report.skipped.length) {
      const choice = await messages.replyWarning(`SCMS: ${counted}; ${report.skipped.length} skipped (the reasons are in the SCMS output).`, 'Show Output');
      if (choice === 'Show Output') messages.showOutput();
    } else {
      messages.info(`SCMS: ${counted}.`);
    }
  });
  run('scms.closeSessionReport', async () => {
    const result = await server.execute<ClosedSession>('scms.closeSession', {});
    const root = vscode.workspace.workspaceFolders?.[0]?.uri;
    // the saved report (.scms/sessions/<date>-<time>.md); an unsaved buffer only from a server that does not say where
    const document = result.path
      ? await vscode.workspace.openTextDocument(path.isAbsolute(result.path) || !root ? vscode.Uri.file(result.path) : vscode.Uri.joinPath(root, result.path))
      : await vscode.workspace.openTextDocument({ content: result.report, language: 'markdown' });
    await vscode.window.showTextDocument(document, { preview: true });
    messages.info(`SCMS: session closed: ${result.promoted.length} promoted, ${result.archived.length} archived${result.path ? `; the report is ${vscode.workspace.asRelativePath(result.path)}` : ''}`);
  });
  run('scms.showMemory', async () => vscode.commands.executeCommand('scmsMemory.focus'));
  run('scms.refreshMemory', async () => refresh());
  run('scms.restartServer', async () => server.restart());
  run('scms.showOutput', async () => messages.showOutput());
  run('scms.openPatternFile', async (node?: MemoryNode) => {
    const root = vscode.workspace.workspaceFolders?.[0]?.uri;
    if (node?.kind !== 'pattern' || !root) return;
    const { file, title } = node.pattern; // the server says where the validated file is
    if (!file) return void messages.replyWarning(`SCMS: “${title}” has no file in .scms/patterns/.`);
    await vscode.window.showTextDocument(vscode.Uri.joinPath(root, ...file.split('/')));
  });
}

async function recalledHere(server: Server): Promise<Recalled[]> {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.document.uri.scheme !== 'file') return [];
  try {
    const { line, character } = editor.selection.active;
    return await server.execute<Recalled[]>('scms.recall', { uri: editor.document.uri.toString(), position: { line, character } });
  } catch {
    return [];
  }
}
