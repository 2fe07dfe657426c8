// Pop-ups: background messages are gated by `scms.notifications`; answers to what the user just did are not.
// Everything is also written to the SCMS output channel.
import * as vscode from 'vscode';
import { shouldPopUp } from './launch';

type Origin = 'background' | 'user';

export class Messages {
  constructor(private readonly log: vscode.LogOutputChannel) {}

  private popUp(level: 'error' | 'warning' | 'info', origin: Origin): boolean {
    return shouldPopUp(vscode.workspace.getConfiguration('scms').get('notifications'), level, origin);
  }

  private async showError(origin: Origin, message: string, actions: string[]): Promise<string | undefined> {
    this.log.error(message);
    if (!this.popUp('error', origin)) return undefined;
    const choice = await vscode.window.showErrorMessage(message, ...actions, 'Show Output');
    if (choice === 'Show Output') this.log.show(true);
    return choice;
  }

  private async showWarning(origin: Origin, message: string, actions: string[]): Promise<string | undefined> {
    this.log.warn(message);
    if (!this.popUp('warning', origin)) return undefined;
    return vscode.window.showWarningMessage(message, ...actions);
  }

  /** Something went wrong in the background (the server, a file): pops up from `onError`. */
  error(message: string, ...actions: string[]): Promise<string | undefined> {
    return this.showError('background', message, actions);
  }

  /** A background warning (a malformed pattern file, a fallback): pops up from `onWarning`. */
  warning(message: string, ...actions: string[]): Promise<string | undefined> {
    return this.showWarning('background', message, actions);
  }

  /** A command, link or setting the user just used failed: always pops up. */
  replyError(message: string, ...actions: string[]): Promise<string | undefined> {
    return this.showError('user', message, actions);
  }

  /** A command the user just ran cannot go on (no selection, no folder): always pops up. */
  replyWarning(message: string, ...actions: string[]): Promise<string | undefined> {
    return this.showWarning('user', message, actions);
  }

  /** Information pops up with `always`; otherwise it shows in the status bar for a few seconds. */
  info(message: string): void {
    this.log.info(message);
    if (this.popUp('info', 'background')) void vscode.window.showInformationMessage(message);
    else vscode.window.setStatusBarMessage(message, 6000);
  }

  /** Only to the SCMS output: details behind a message that pops up. */
  note(message: string): void {
    this.log.info(message);
  }

  showOutput(): void {
    this.log.show(true);
  }

  /** A question the user must answer to go on: asked whatever the notifications setting says. */
  async ask(message: string, ...actions: string[]): Promise<string | undefined> {
    this.log.warn(message);
    return vscode.window.showWarningMessage(message, ...actions);
  }
}
