// The palette commands under "SCMS": each gathers what it needs from the editor and runs one server command.
import * as vscode from 'vscode';
import { MemoryNode } from './memoryTree';
import { Messages } from './messages';
import { ExportReport, ImportReport, Pattern, Recalled } from './patterns';
import { NO_FOLDER, Server } from './server';

type PatternPick = vscode.QuickPickItem & { pattern: Pattern };

export function registerCommands(context: vscode.ExtensionContext, server: Server, messages: Messages, refresh: () => void): void {
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
    const firstLine = editor.document.lineAt(editor.selection.start.line).text.trim();
    const title = await vscode.window.showInputBox({
      title: 'SCMS: Remember Selection', prompt: 'A title for this pattern', value: firstLine.replace(/[:{]\s*$/, '').slice(0, 80),
      validateInput: (value) => (value.trim() ? undefined : 'The title must not be empty'),
    });
    if (title === undefined) return;
    const { start, end } = editor.selection;
    const pattern = await server.execute<Pattern>('scms.remember', {
      uri: editor.document.uri.toString(), title,
      range: { start: { line: start.line, character: start.character }, end: { line: end.line, character: end.character } },
    });
    messages.info(`SCMS: remembered “${pattern.title}” as a session candidate.`);
  });

  const pick = async (placeHolder: string, tiers: Pattern['tier'][], node?: MemoryNode): Promise<Pattern | undefined> => {
    if (node?.kind === 'pattern') return node.pattern;
    const here = await recalledHere(server);
    const all = (await server.execute<Pattern[]>('scms.list', {})).filter((p) => tiers.includes(p.tier));
    const items: PatternPick[] = [
      ...here.filter((r) => tiers.includes(r.pattern.tier)).map((r) => ({ label: `$(target) ${r.pattern.title}`, description: 'recalled here', detail: r.reasons[0], pattern: r.pattern })),
      ...all.filter((p) => !here.some((r) => r.pattern.id === p.id)).map((p) => ({ label: p.title, description: `${p.tier} · ${p.accepted_uses} uses`, pattern: p })),
    ];
    if (items.length === 0) {
      void messages.replyWarning(`SCMS: there is no ${tiers.join(' or ')} pattern to choose from.`);
      return undefined;
    }
    return (await vscode.window.showQuickPick(items, { placeHolder, matchOnDescription: true }))?.pattern;
  };

  const context_ = () => {
    const editor = vscode.window.activeTextEditor;
    if (!editor || editor.document.uri.scheme !== 'file') return {};
    const { line, character } = editor.selection.active;
    return { uri: editor.document.uri.toString(), position: { line, character } };
  };

  run('scms.acceptPattern', async (node?: MemoryNode) => {
    const p = await pick('Accept which pattern?', ['session', 'validated'], node);
    if (!p) return;
    const after = await server.execute<Pattern>('scms.accept', { patternId: p.id, ...(node ? {} : context_()) });
    messages.info(`SCMS: accepted “${after.title}” (${after.accepted_uses} uses${after.eligible ? ', eligible for promotion' : ''}).`);
  });
  run('scms.rejectPattern', async (node?: MemoryNode) => {
    const p = await pick('Reject which pattern?', ['session', 'validated'], node);
    if (!p) return;
    await server.execute('scms.reject', { patternId: p.id, ...(node ? {} : context_()) });
    messages.info(`SCMS: rejected “${p.title}”${node ? '' : ' here'}.`);
  });
  const simple = (id: string, serverCommand: string, verb: string, tiers: Pattern['tier'][]) =>
    run(id, async (node?: MemoryNode) => {
      const p = await pick(`${verb} which pattern?`, tiers, node);
      if (p) messages.info(`SCMS: ${verb.toLowerCase()}d “${(await server.execute<Pattern>(serverCommand, { patternId: p.id })).title}”.`);
    });
  simple('scms.promotePattern', 'scms.promote', 'Promote', ['session']);
  simple('scms.demotePattern', 'scms.demote', 'Demote', ['validated']);
  simple('scms.forgetPattern', 'scms.forget', 'Forget', ['session', 'validated']);

  run('scms.promoteAllEligible', async () => {
    const promoted = await server.execute<Pattern[]>('scms.promoteEligible', {});
    messages.info(promoted.length
      ? `SCMS: promoted ${promoted.map((p) => `“${p.title}”`).join(', ')} to the validated tier.`
      : 'SCMS: nothing is eligible yet; a candidate needs enough accepted uses.');
  });
  run('scms.exportRules', async () => {
    const report = await server.execute<ExportReport>('scms.export', {});
    const touched = [...report.written, ...report.changed];
    const parts = [
      touched.length ? `wrote ${touched.join(', ')}` : 'the rule files were already up to date',
      ...(report.removed.length ? [`removed ${report.removed.join(', ')}`] : []),
    ];
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
    const counted = `imported ${report.imported.length} pattern${report.imported.length === 1 ? '' : 's'}`;
    if (report.skipped.length) {
      const choice = await messages.replyWarning(`SCMS: ${counted}; ${report.skipped.length} skipped (the reasons are in the SCMS output).`, 'Show Output');
      if (choice === 'Show Output') messages.showOutput();
    } else {
      messages.info(`SCMS: ${counted}.`);
    }
  });
  run('scms.closeSessionReport', async () => {
    const result = await server.execute<{ report: string }>('scms.closeSession', {});
    const document = await vscode.workspace.openTextDocument({ content: result.report, language: 'markdown' });
    await vscode.window.showTextDocument(document, { preview: true });
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
