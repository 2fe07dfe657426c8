// What the extension says after each action on a pattern, and what it asks before one that is hard to undo (no
// `vscode` module, so Node's test runner tests the wording): accept, reject, promote, demote, forget, restore,
// re-anchor, remember, save a discovered shape, dismiss it, edit.
import type { Accepted, Pattern } from './patterns';

/** `1 accepted use`, `2 accepted uses`. */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

const quoted = (p: Pick<Pattern, 'title'>) => `“${p.title}”`;

/** When accepts do not outnumber rejections (the server promotes only while they do), why; else undefined. */
export function rejectionReason(p: Pick<Pattern, 'accepted_uses' | 'rejected_uses'>): string | undefined {
  const { accepted_uses: accepted, rejected_uses: rejected } = p;
  if (rejected === 0 || accepted > rejected) return undefined;
  return accepted === rejected ? `as many rejections (${rejected}) as accepts (${accepted})` : `more rejections (${rejected}) than accepts (${accepted})`;
}

/** Why a candidate is not eligible for promotion: `1 of 2 accepted uses`, `more rejections (2) than accepts (1)`.
 *  Empty when it is eligible or is not a candidate. Mirrors the server's rule: ≥ threshold accepts, more accepts than rejections. */
export function notEligibleReasons(p: Pattern, threshold: number): string[] {
  if (p.tier !== 'session' || p.eligible) return [];
  const reasons = p.accepted_uses < threshold ? [`${p.accepted_uses} of ${plural(threshold, 'accepted use')}`] : [];
  const rejections = rejectionReason(p);
  return rejections ? [...reasons, rejections] : reasons;
}

export function accepted(p: Accepted, threshold: number): string {
  if (p.counted === false) return `SCMS: not counted: this code is already evidence of ${quoted(p)}`;
  if (p.tier !== 'session') return `SCMS: accepted ${quoted(p)} — ${plural(p.accepted_uses, 'accepted use')}`;
  if (p.eligible) return `SCMS: accepted ${quoted(p)} — ${plural(p.accepted_uses, 'accepted use')}, eligible for promotion`;
  const uses = p.accepted_uses < threshold
    ? `${p.accepted_uses} of ${plural(threshold, 'accepted use')} for promotion` : plural(p.accepted_uses, 'accepted use');
  const rejections = rejectionReason(p);
  return `SCMS: accepted ${quoted(p)} — ${uses}${rejections ? `; not eligible: ${rejections}` : ''}`;
}

/** `here`: the rejection had a context (a card, a quick fix, the cursor); the pattern is not offered there again. */
export function rejected(p: Pattern, here: boolean, reason = ''): string {
  if (reason === 'does not apply here') return `SCMS: noted: ${quoted(p)} does not apply here`;
  return here
    ? `SCMS: rejected ${quoted(p)} here; it is not suggested here again`
    : `SCMS: rejected ${quoted(p)} (${plural(p.rejected_uses, 'rejection')})`;
}

export function promoted(p: Pattern): string {
  return `SCMS: promoted ${quoted(p)} to the validated tier${p.file ? `: ${p.file}` : ''}`;
}

export function promotedEligible(patterns: Pattern[]): string {
  return patterns.length
    ? `SCMS: promoted ${patterns.map(quoted).join(', ')} to the validated tier`
    : 'SCMS: nothing is eligible yet; a candidate needs enough accepted uses';
}

export function demoted(p: Pattern, file: string | null): string {
  return `SCMS: demoted ${quoted(p)} to a session candidate${file ? `; removed ${file}` : ''}`;
}

export function forgot(p: Pattern): string {
  return `SCMS: forgot ${quoted(p)}; it is in the archive, and Restore brings it back`;
}

export function restored(p: Pattern): string {
  return `SCMS: restored ${quoted(p)} as a session candidate`;
}

export function reanchored(p: Pattern): string {
  const stale = p.stale?.length ?? 0;
  return `SCMS: re-anchored ${quoted(p)} to where its code is now${stale ? `; ${plural(stale, 'place')} could not be found` : ''}`;
}

export function remembered(p: Pattern): string {
  return `SCMS: remembered ${quoted(p)} as a session candidate`;
}

export function savedShape(p: Pattern): string {
  return `SCMS: saved ${quoted(p)} as a candidate (${plural(p.evidence.length, 'place')})`;
}

export function dismissedShape(title?: string): string {
  return `SCMS: dismissed ${title ? `“${title}”` : 'that repeated code'}; it is not suggested again`;
}

export function updated(p: Pattern, fields: string[]): string {
  if (fields.length === 0) return `SCMS: nothing changed in ${quoted(p)}`;
  const list = fields.length === 1 ? fields[0] : `${fields.slice(0, -1).join(', ')} and ${fields[fields.length - 1]}`;
  return `SCMS: updated the ${list} of ${quoted(p)}`;
}

/** A question before an action that is hard to undo: the message, the modal's detail, and the button that goes on. */
export interface Confirmation { message: string; detail: string; action: string }

export function confirmPromote(p: Pattern, reasons: string[]): Confirmation {
  return {
    message: `${quoted(p)} is not eligible for promotion: ${reasons.join('; ')}.`,
    detail: 'Promote it to the validated tier anyway? Its file is written to .scms/patterns/, which git tracks and your team shares.',
    action: 'Promote Anyway',
  };
}

export function confirmDemote(p: Pattern): Confirmation {
  return {
    message: `Demote ${quoted(p)} to a session candidate?`,
    detail: `Its file ${p.file ?? 'in .scms/patterns/'} is deleted. Git tracks that folder: the deletion reaches your team when you commit it.`,
    action: 'Demote',
  };
}

export function confirmPurge(p: Pattern): Confirmation {
  return {
    message: `Purge ${quoted(p)} for good?`,
    detail: 'For a pattern remembered by mistake (a secret in it): its title, note, snippet and evidence are taken out of '
      + 'every event in .scms/ and replaced by hashes, its file and rule files follow, and it cannot be restored.',
    action: 'Purge',
  };
}

export function purged(result: { storeRewritten: boolean }): string {
  return result.storeRewritten
    ? 'SCMS: purged; nothing of it is left in .scms/.'
    : 'SCMS: purged; another SCMS process still reads an old snapshot, whose pages leave the store when it next writes or closes.';
}

export function confirmForget(p: Pattern): Confirmation {
  const file = p.tier === 'validated'
    ? ` Its file ${p.file ?? 'in .scms/patterns/'} is deleted; git tracks that folder, so your team sees the deletion when you commit it.` : '';
  return { message: `Forget ${quoted(p)}?`, detail: `It moves to the archive, where Restore brings it back.${file}`, action: 'Forget' };
}
