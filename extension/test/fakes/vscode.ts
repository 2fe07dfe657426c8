// The little of the `vscode` module that extension/src/mcp.ts uses, for Node's test runner (build.mjs --tests
// bundles the tests with `vscode` pointing here). Tests set `settings` and call `changeSettings`.
type Listener<T> = (value: T) => unknown;

export class EventEmitter<T> {
  private listeners: Listener<T>[] = [];
  event = (listener: Listener<T>) => {
    this.listeners.push(listener);
    return { dispose: () => (this.listeners = this.listeners.filter((l) => l !== listener)) };
  };
  fire(value: T): void {
    this.listeners.forEach((listener) => listener(value));
  }
  dispose(): void {
    this.listeners = [];
  }
}

export class Uri {
  private constructor(readonly fsPath: string) {}
  static file(fsPath: string): Uri {
    return new Uri(fsPath);
  }
  toString(): string {
    return `file://${this.fsPath}`;
  }
}

/** The `scms.*` settings, by key without `scms.`. */
export const settings: Record<string, unknown> = {};
const configurationChanged = new EventEmitter<{ affectsConfiguration(section: string): boolean }>();

/** Change settings and tell the listeners, as VS Code does. */
export function changeSettings(values: Record<string, unknown>): void {
  Object.assign(settings, values);
  const keys = Object.keys(values).map((key) => `scms.${key}`);
  configurationChanged.fire({ affectsConfiguration: (section) => keys.some((key) => key === section || key.startsWith(`${section}.`)) });
}

export const workspace = {
  getConfiguration: (section: string) => ({
    get: <T>(key: string, fallback?: T) => (section === 'scms' && key in settings ? settings[key] : fallback) as T,
  }),
  onDidChangeConfiguration: configurationChanged.event,
};
