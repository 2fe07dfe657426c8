// Pop-ups gated by `scms.notifications`; everything is also written to the SCMS output channel.
import * as vscode from 'vscode';
import { shouldPopUp } from './launch';

export class Messages {
  constructor(private readonly log: vscode.LogOutputChannel) {}

  private setting(): unknown {
    return vscode.workspace.getConfiguration('scms').get('notifications');
  }

  async error(message: string, ...actions: string[]): Promise<string | undefined> {
    this.log.error(message);
    if (!shouldPopUp(this.setting(), 'error')) return undefined;
    const choice = await vscode.window.showErrorMessage(message, ...actions, 'Show Output');
    if (choice === 'Show Output') this.log.show(true);
    return choice;
  }

  async warning(message: string, ...actions: string[]): Promise<string | undefined> {
    this.log.warn(message);
    if (!shouldPopUp(this.setting(), 'warning')) return undefined;
    return vscode.window.showWarningMessage(message, ...actions);
  }

  info(message: string): void {
    this.log.info(message);
    if (shouldPopUp(this.setting(), 'info')) void vscode.window.showInformationMessage(message);
    else vscode.window.setStatusBarMessage(message, 4000);
  }

  /** A question the user must answer to go on: asked whatever the notifications setting says. */
  async ask(message: string, ...actions: string[]): Promise<string | undefined> {
    this.log.warn(message);
    return vscode.window.showWarningMessage(message, ...actions);
  }
}
