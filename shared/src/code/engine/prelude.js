// Installed into every fresh sandbox before the caller's code runs (see prelude.rs). It is compiled as
// its own module, so none of its bindings are visible to the caller's code; only what it puts on
// globalThis is.
//
// Everything it needs later is captured here, before the caller's code can replace built-ins: a
// polluted prototype can then only confuse the caller's own run, never the host side.
export default function install(hostCall, hostWrite, contextJson, helpersJson, maxLine, maxArgs, maxReturn) {
  const G = globalThis;
  const { defineProperty, freeze, getPrototypeOf, getOwnPropertyNames } = Object;
  const apply = Reflect.apply;
  const jsonParse = JSON.parse;
  const jsonStringify = JSON.stringify;
  const PromiseCtor = Promise;
  const ErrorCtor = Error;
  const TypeErrorCtor = TypeError;
  const StringCtor = String;
  const MapCtor = Map;
  const { get: mapGet, set: mapSet, delete: mapDelete } = Map.prototype;
  const { slice, match } = String.prototype;
  const fixed = (value) => ({ value, writable: false, enumerable: false, configurable: false });

  // No code generation from strings. The sandbox context has no eval support at all (the engine
  // refuses it), so this is defence in depth that also gives a clear message: every path to a
  // function constructor (`Function`, `(async function(){}).constructor`, `({}).constructor.constructor`
  // and the generator variants) ends at `denied`.
  const denied = function () {
    throw new TypeErrorCtor('Code generation from strings is not allowed in the sandbox (Function constructor and eval are disabled)');
  };
  for (const proto of [
    Function.prototype,
    getPrototypeOf(async function () {}),
    getPrototypeOf(function* () {}),
    getPrototypeOf(async function* () {}),
  ]) {
    defineProperty(proto, 'constructor', fixed(denied));
  }
  // `queueMicrotask` is the only scheduling primitive the engine has; host names are removed so
  // `typeof` finds nothing. Stack-trace hooks hand out call-site function objects: removed too.
  for (const name of ['eval', 'Function', 'queueMicrotask']) delete G[name];
  for (const name of ['captureStackTrace', 'prepareStackTrace']) {
    try {
      delete ErrorCtor[name];
      defineProperty(ErrorCtor, name, fixed(undefined));
    } catch (_) {
      // Not configurable in this engine build: leave it; there is nothing host-side to reach.
    }
  }

  const format = (value) => {
    if (typeof value === 'string') return value;
    try {
      const json = jsonStringify(value);
      if (json !== undefined) return json;
    } catch (_) {
      // Circular or BigInt: fall back to String().
    }
    try {
      return StringCtor(value);
    } catch (_) {
      return '[unprintable]';
    }
  };
  const printer = (prefix) =>
    function () {
      let text = prefix;
      for (let i = 0; i < arguments.length; i++) {
        text += (i ? ' ' : '') + format(arguments[i]);
        if (text.length > maxLine) break;
      }
      // Never hand the host more than it can keep: it truncates at the output limit anyway.
      hostWrite(text.length > maxLine ? apply(slice, text, [0, maxLine]) : text);
    };
  const console = freeze({
    log: printer(''),
    info: printer('[INFO] '),
    warn: printer('[WARN] '),
    error: printer('[ERROR] '),
    debug: printer('[DEBUG] '),
  });

  const pending = new MapCtor();
  let nextId = 0;
  const toolError = (kind, message) => {
    const error = new ErrorCtor(message);
    error.name = kind === 'not_found' ? 'ToolNotFoundError' : 'ToolError';
    return error;
  };
  const callTool = function callTool(name, args) {
    return new PromiseCtor((resolve, reject) => {
      if (typeof name !== 'string') {
        reject(new TypeErrorCtor('callTool(name, args): name must be a string'));
        return;
      }
      let json;
      try {
        json = args === undefined || args === null ? '{}' : jsonStringify(args);
      } catch (_) {
        reject(new TypeErrorCtor(`callTool(${name}): arguments must be JSON-serializable`));
        return;
      }
      if (typeof json !== 'string' || json[0] !== '{') {
        reject(new TypeErrorCtor(`callTool(${name}): arguments must be an object`));
        return;
      }
      if (json.length > maxArgs) {
        reject(new TypeErrorCtor(`callTool(${name}): arguments exceed ${maxArgs} characters`));
        return;
      }
      const id = ++nextId;
      const refusal = hostCall(id, name, json);
      if (refusal) {
        reject(toolError('refused', refusal));
        return;
      }
      apply(mapSet, pending, [id, { resolve, reject }]);
    });
  };

  // The host settles a call: the result as JSON, or a failure kind and message.
  const deliver = function (id, ok, payload, kind) {
    const entry = apply(mapGet, pending, [id]);
    if (!entry) return;
    apply(mapDelete, pending, [id]);
    try {
      if (ok) entry.resolve(jsonParse(payload));
      else entry.reject(toolError(kind, payload));
    } catch (error) {
      entry.reject(error);
    }
  };

  // The value of the caller's `return`, as JSON text, with the sentinels of the reference gateway.
  const serialize = function (value) {
    let json;
    try {
      json = jsonStringify(value);
    } catch (_) {
      return ['unserializable', ''];
    }
    if (json === undefined) return ['undefined', ''];
    if (json.length > maxReturn) return ['too_large', ''];
    return ['ok', json];
  };

  // An error as [name, message, line in the caller's code or 0].
  const describe = function (error) {
    try {
      if (error !== null && (typeof error === 'object' || typeof error === 'function')) {
        const name = typeof error.name === 'string' ? error.name : 'Error';
        const message = typeof error.message === 'string' ? error.message : format(error);
        const stack = typeof error.stack === 'string' ? error.stack : '';
        const at = apply(match, stack, [/code\.js:(\d+)/]);
        return [name, apply(slice, message, [0, 2000]), at ? +at[1] : 0];
      }
      return ['Error', apply(slice, format(error), [0, 2000]), 0];
    } catch (_) {
      return ['Error', 'an exception that could not be described', 0];
    }
  };

  const deepFreeze = (value) => {
    if (value !== null && typeof value === 'object') {
      for (const key of getOwnPropertyNames(value)) deepFreeze(value[key]);
      freeze(value);
    }
    return value;
  };

  defineProperty(G, 'console', fixed(console));
  defineProperty(G, 'callTool', fixed(callTool));
  defineProperty(G, 'context', fixed(deepFreeze(jsonParse(contextJson))));
  for (const [safe, tool] of jsonParse(helpersJson)) {
    if (safe in G) continue;
    const helper = { [safe]: (args) => callTool(tool, args) }[safe];
    defineProperty(G, safe, fixed(helper));
  }
  return { deliver, serialize, describe };
}
