/**
 * The lab's one error class, a branch of play's error tree
 * (lib/core/errors.ts). Everything in lib/lab throws it (never a bare
 * Error) with a message that says what failed and why; only the CLI's error
 * boundary (lib/cli/main.ts) catches it and turns it into an exit code.
 */
import { PlayError } from '../core/errors.ts';

/** A lab step failed. `detail` carries the failing command's stderr, if any. */
export class LabError extends PlayError {
  override name = 'LabError';
  constructor(message: string, readonly detail?: string) {
    super(detail ? `${message}\n${indent(detail)}` : message);
  }
}

function indent(text: string): string {
  const lines = text.trimEnd().split('\n');
  // Keep the tail: the last lines of a failing tool's stderr say why it failed.
  const tail = lines.length > 20 ? ['…', ...lines.slice(-20)] : lines;
  return tail.map((l) => `    ${l}`).join('\n');
}

/** The machine cannot host the lab: not root, or a program apt-get could not install. */
export class LabPrerequisiteError extends LabError {
  override name = 'LabPrerequisiteError';
}

/** A command needs a running lab and there is none. */
export class NoLabError extends LabError {
  override name = 'NoLabError';
}
