// The actions on one pattern, wherever they start (the memory view, the palette, a hover card's link, a quick fix):
// each asks first when it is hard to undo, runs one server command, and says what happened in the status bar. The
// view and the status bar follow by themselves (the server sends scms/didChange after every change).
import * as vscode from 'vscode';
import * as say from './feedback';
import { Messages } from './messages';
import { Accepted, Pattern, Status } from './patterns';
import { Server } from './server';

/** A server command's one argument, as a card link or a code action carries it. */
export type Argument = Record<string, unknown>;

export class PatternActions {
  /** The last `scms.status` the extension read (the promotion threshold is the server's). */
  status: Status | undefined;

  constructor(private readonly server: Server, private readonly messages: Messages) {}

  threshold(): number {
    return this.status?.promotionThreshold ?? vscode.workspace.getConfiguration('scms').get<number>('promotionThreshold', 2);
  }

  /** The pattern as the server has it now. */
  async get(patternId: unknown): Promise<Pattern> {
    const found = (await this.server.execute<Pattern[]>('scms.list', {})).find((p) => p.id === patternId);
    if (!found) throw new Error(`there is no pattern with id ${JSON.stringify(patternId)} any more`);
    return found;
  }

  private async confirm({ message, detail, action }: say.Confirmation): Promise<boolean> {
    this.messages.note(`${message} ${detail}`);
    return (await vscode.window.showWarningMessage(message, { modal: true, detail }, action)) === action;
  }

  async accept(argument: Argument): Promise<Accepted> {
    const after = await this.server.execute<Accepted>('scms.accept', argument);
    this.messages.info(say.accepted(after, this.threshold()));
    return after;
  }

  async reject(argument: Argument): Promise<Pattern> {
    const after = await this.server.execute<Pattern>('scms.reject', argument);
    this.messages.info(say.rejected(after, argument.uri !== undefined, typeof argument.reason === 'string' ? argument.reason : ''));
    return after;
  }

  /** A candidate that is not eligible is promoted only when the user confirms, having been told why it is not. */
  async promote(p: Pattern): Promise<Pattern | undefined> {
    const reasons = say.notEligibleReasons(p, this.threshold());
    if (reasons.length && !(await this.confirm(say.confirmPromote(p, reasons)))) return undefined;
    const after = await this.server.execute<Pattern>('scms.promote', { patternId: p.id });
    this.messages.info(say.promoted(after));
    return after;
  }

  async promoteEligible(): Promise<Pattern[]> {
    const promoted = await this.server.execute<Pattern[]>('scms.promoteEligible', {});
    this.messages.info(say.promotedEligible(promoted));
    return promoted;
  }

  async demote(p: Pattern): Promise<Pattern | undefined> {
    if (!(await this.confirm(say.confirmDemote(p)))) return undefined;
    const after = await this.server.execute<Pattern>('scms.demote', { patternId: p.id });
    this.messages.info(say.demoted(after, p.file));
    return after;
  }

  async forget(p: Pattern): Promise<Pattern | undefined> {
    if (!(await this.confirm(say.confirmForget(p)))) return undefined;
    const after = await this.server.execute<Pattern>('scms.forget', { patternId: p.id });
    this.messages.info(say.forgot(after));
    return after;
  }

  async purge(p: Pattern): Promise<unknown> {
    if (!(await this.confirm(say.confirmPurge(p)))) return undefined;
    const result = await this.server.execute<{ storeRewritten: boolean }>('scms.purge', { patternId: p.id });
    this.messages.info(say.purged(result));
    return result;
  }

  async restore(p: Pattern): Promise<Pattern> {
    const after = await this.server.execute<Pattern>('scms.restore', { patternId: p.id });
    this.messages.info(say.restored(after));
    return after;
  }

  async reanchor(p: Pattern): Promise<Pattern> {
    const after = await this.server.execute<Pattern>('scms.reanchor', { patternId: p.id });
    this.messages.info(say.reanchored(after));
    return after;
  }

  /** `title`: the shape's, as its "Save as pattern…" code action offered it (the argument holds only the shape). */
  async dismissShape(argument: Argument, title?: string): Promise<unknown> {
    const answer = await this.server.execute<unknown>('scms.dismissShape', argument);
    this.messages.info(say.dismissedShape(title));
    return answer;
  }

  /**
   * A server command run from a hover card's link or a code action (vscode-languageclient registers each server
   * command as a VS Code command; its middleware hands them here): the same asking and feedback as from the view.
   * Commands without feedback of their own go to the server as they are (`next`).
   */
  async fromEditor(name: string, argument: Argument, next: () => Promise<unknown>): Promise<unknown> {
    switch (name) {
      case 'scms.accept': return this.accept(argument);
      case 'scms.reject': return this.reject(argument);
      case 'scms.promote': return this.promote(await this.get(argument.patternId));
      case 'scms.demote': return this.demote(await this.get(argument.patternId));
      case 'scms.forget': return this.forget(await this.get(argument.patternId));
      case 'scms.purge': return this.purge(await this.get(argument.patternId));
      case 'scms.restore': return this.restore(await this.get(argument.patternId));
      case 'scms.reanchor': return this.reanchor(await this.get(argument.patternId));
      case 'scms.dismissShape': return this.dismissShape(argument);
      default: return next();
    }
  }
}
