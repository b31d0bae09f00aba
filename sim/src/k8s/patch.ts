/**
 * The three PATCH content types: strategic merge (as the API server does for Deployments),
 * JSON merge patch (RFC 7386) and JSON patch (RFC 6902).
 */
import { ApiError, badRequest } from './errors.js';
import { clone, deepEqual, isObj, type Obj } from './json.js';

const CONTAINER_LISTS = new Set(['containers', 'initContainers', 'ephemeralContainers']);

/** The patchMergeKey of a list field, from the Kubernetes types, or undefined: replace the list. */
function mergeKeyFor(path: readonly string[]): string | undefined {
  const last = path[path.length - 1] ?? '';
  const parent = path[path.length - 2] ?? '';
  if (CONTAINER_LISTS.has(last)) return 'name';
  switch (last) {
    case 'env':
    case 'volumes':
    case 'imagePullSecrets':
    case 'resourceClaims':
    case 'schedulingGates':
      return 'name';
    case 'ports':
      return CONTAINER_LISTS.has(parent) ? 'containerPort' : 'port';
    case 'volumeMounts':
      return 'mountPath';
    case 'volumeDevices':
      return 'devicePath';
    case 'hostAliases':
      return 'ip';
    case 'ownerReferences':
      return 'uid';
    case 'conditions':
      return 'type';
    case 'topologySpreadConstraints':
      return 'topologyKey';
    default:
      return undefined;
  }
}

const DELETE_MARK = Symbol('delete');

function strategicMergeObject(original: unknown, patch: Obj, path: string[]): Obj | typeof DELETE_MARK {
  const directive = patch.$patch;
  if (directive === 'delete') return DELETE_MARK;
  if (directive === 'replace') {
    const rest = { ...patch };
    delete rest.$patch;
    return strategicMergeObject(undefined, rest, path);
  }
  if (directive !== undefined) throw badRequest(`Unknown patch type: ${String(directive)}`);
  const out: Obj = isObj(original) ? { ...original } : {};
  const deferred: Array<[string, unknown]> = [];
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$retainKeys' || key.startsWith('$setElementOrder/')) continue;
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      deferred.push([key.slice('$deleteFromPrimitiveList/'.length), value]);
      continue;
    }
    if (value === null) {
      delete out[key];
      continue;
    }
    const childPath = [...path, key];
    if (isObj(value)) {
      const merged = strategicMergeObject(out[key], value, childPath);
      if (merged === DELETE_MARK) delete out[key];
      else out[key] = merged;
    } else if (Array.isArray(value)) {
      out[key] = strategicMergeList(out[key], value, childPath);
    } else {
      out[key] = value;
    }
  }
  for (const [field, values] of deferred) {
    const list = out[field];
    if (Array.isArray(list) && Array.isArray(values)) {
      out[field] = list.filter((item) => !values.some((v) => deepEqual(v, item)));
    }
  }
  const retain = patch.$retainKeys;
  if (Array.isArray(retain)) {
    for (const key of Object.keys(out)) if (!retain.includes(key)) delete out[key];
  }
  return out;
}

function strategicMergeList(original: unknown, patch: unknown[], path: string[]): unknown[] {
  const last = path[path.length - 1] ?? '';
  if (patch.some((item) => isObj(item) && item.$patch === 'replace')) {
    return patch.filter((item) => !(isObj(item) && item.$patch === 'replace')).map((item) => clone(item));
  }
  const key = mergeKeyFor(path);
  if (key === undefined) {
    if (last === 'finalizers' && Array.isArray(original)) {
      return [...original, ...patch.filter((item) => !original.some((o) => deepEqual(o, item)))];
    }
    return patch.map((item) => clone(item));
  }
  const out = Array.isArray(original) ? [...original] : [];
  for (const item of patch) {
    if (!isObj(item))
      throw badRequest(`unable to merge list "${last}": element ${JSON.stringify(item)} is not an object`);
    const keyValue = item[key];
    if (keyValue === undefined) {
      throw badRequest(`map: ${JSON.stringify(item)} does not contain declared merge key: ${key}`);
    }
    const sameKey = (o: unknown): boolean => isObj(o) && deepEqual(o[key], keyValue);
    if (item.$patch === 'delete') {
      for (let i = out.length - 1; i >= 0; i--) if (sameKey(out[i])) out.splice(i, 1);
      continue;
    }
    const index = out.findIndex(sameKey);
    const merged = strategicMergeObject(index >= 0 ? out[index] : undefined, item, path);
    if (merged === DELETE_MARK) continue;
    if (index >= 0) out[index] = merged;
    else out.push(merged);
  }
  return out;
}

/** Strategic merge patch, for the Kubernetes object kinds this fake serves. */
export function strategicMergePatch(original: unknown, patch: unknown): unknown {
  if (!isObj(patch)) throw badRequest('json: cannot unmarshal array into Go value of type map[string]interface {}');
  const merged = strategicMergeObject(original, patch, []);
  return merged === DELETE_MARK ? {} : merged;
}

/** JSON merge patch (RFC 7386). */
export function jsonMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return clone(patch);
  const out: Obj = isObj(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = jsonMergePatch(out[key], value);
  }
  return out;
}

function parsePointer(pointer: unknown, op: string): string[] {
  if (typeof pointer !== 'string') throw badRequest(`jsonpatch ${op} operation: missing or invalid path`);
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw badRequest(`jsonpatch ${op} operation does not apply: invalid path: ${pointer}`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function pointerGet(doc: unknown, tokens: string[]): { found: boolean; value: unknown } {
  let cur: unknown = doc;
  for (const t of tokens) {
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9]\d*)$/.test(t) || Number(t) >= cur.length) return { found: false, value: undefined };
      cur = cur[Number(t)];
    } else if (isObj(cur) && Object.hasOwn(cur, t)) {
      cur = cur[t];
    } else return { found: false, value: undefined };
  }
  return { found: true, value: cur };
}

function pointerParent(doc: unknown, tokens: string[], op: string, raw: string): { parent: unknown; last: string } {
  const parentTokens = tokens.slice(0, -1);
  const { found, value } = pointerGet(doc, parentTokens);
  if (!found || value === null || typeof value !== 'object') {
    throw badRequest(`jsonpatch ${op} operation does not apply: doc is missing path: "${raw}"`);
  }
  return { parent: value, last: tokens[tokens.length - 1] ?? '' };
}

function arrayIndex(token: string, length: number, allowEnd: boolean, op: string): number {
  if (!/^(0|[1-9]\d*)$/.test(token))
    throw badRequest(`jsonpatch ${op} operation does not apply: invalid index: ${token}`);
  const index = Number(token);
  if (index > length || (!allowEnd && index === length)) {
    throw badRequest(`jsonpatch ${op} operation does not apply: index out of bounds`);
  }
  return index;
}

function pointerAdd(doc: unknown, tokens: string[], value: unknown, raw: string): unknown {
  if (tokens.length === 0) return value;
  const { parent, last } = pointerParent(doc, tokens, 'add', raw);
  if (Array.isArray(parent)) {
    if (last === '-') parent.push(value);
    else parent.splice(arrayIndex(last, parent.length, true, 'add'), 0, value);
  } else (parent as Obj)[last] = value;
  return doc;
}

function pointerRemove(doc: unknown, tokens: string[], op: string, raw: string): { doc: unknown; removed: unknown } {
  if (tokens.length === 0) return { doc: null, removed: doc };
  const { parent, last } = pointerParent(doc, tokens, op, raw);
  if (Array.isArray(parent)) {
    const index = arrayIndex(last, parent.length, false, op);
    return { doc, removed: parent.splice(index, 1)[0] };
  }
  const obj = parent as Obj;
  if (!Object.hasOwn(obj, last))
    throw badRequest(`jsonpatch ${op} operation does not apply: doc is missing key: ${raw}`);
  const removed = obj[last];
  delete obj[last];
  return { doc, removed };
}

/** JSON patch (RFC 6902). */
export function jsonPatch(document: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) {
    throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  }
  let doc = clone(document);
  for (const operation of operations) {
    if (!isObj(operation)) throw badRequest('json: cannot unmarshal into Go value of type jsonpatch.Operation');
    const op = String(operation.op);
    const rawPath = String(operation.path);
    const path = parsePointer(operation.path, op);
    const needValue = (): unknown => {
      if (!Object.hasOwn(operation, 'value')) throw badRequest(`jsonpatch ${op} operation: missing value`);
      return clone(operation.value);
    };
    switch (op) {
      case 'add':
        doc = pointerAdd(doc, path, needValue(), rawPath);
        break;
      case 'remove':
        doc = pointerRemove(doc, path, 'remove', rawPath).doc;
        break;
      case 'replace': {
        const value = needValue();
        if (!pointerGet(doc, path).found) {
          throw badRequest(`jsonpatch replace operation does not apply: doc is missing key: ${rawPath}`);
        }
        if (path.length === 0) doc = value;
        else {
          const { parent, last } = pointerParent(doc, path, 'replace', rawPath);
          if (Array.isArray(parent)) parent[arrayIndex(last, parent.length, false, 'replace')] = value;
          else (parent as Obj)[last] = value;
        }
        break;
      }
      case 'move': {
        const rawFrom = String(operation.from);
        const from = parsePointer(operation.from, op);
        if (rawPath.startsWith(`${rawFrom}/`)) {
          throw badRequest(
            `jsonpatch move operation does not apply: cannot move ${rawFrom} into its own child ${rawPath}`,
          );
        }
        const { doc: rest, removed } = pointerRemove(doc, from, 'move', rawFrom);
        doc = pointerAdd(rest, path, removed, rawPath);
        break;
      }
      case 'copy': {
        const rawFrom = String(operation.from);
        const source = pointerGet(doc, parsePointer(operation.from, op));
        if (!source.found)
          throw badRequest(`jsonpatch copy operation does not apply: doc is missing from path: ${rawFrom}`);
        doc = pointerAdd(doc, path, clone(source.value), rawPath);
        break;
      }
      case 'test': {
        const current = pointerGet(doc, path);
        const expected = Object.hasOwn(operation, 'value') ? operation.value : undefined;
        if (!current.found || !deepEqual(current.value, expected)) {
          throw new ApiError(
            422,
            'Invalid',
            `the server rejected our request due to an error in our request: testing value ${rawPath} failed: test failed`,
          );
        }
        break;
      }
      default:
        throw badRequest(`Unexpected kind: ${op}`);
    }
  }
  return doc;
}

export function applyPatch(contentType: string | undefined, document: unknown, body: string): unknown {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const known = [
    'application/json-patch+json',
    'application/merge-patch+json',
    'application/strategic-merge-patch+json',
  ];
  if (!known.includes(type)) {
    throw new ApiError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${known.join(', ')}${
        type.startsWith('application/apply-patch') ? ' (this fake does not implement server-side apply)' : ''
      }`,
    );
  }
  let patch: unknown;
  try {
    patch = JSON.parse(body);
  } catch (error) {
    throw badRequest(`error decoding patch: ${(error as Error).message}`);
  }
  if (type === 'application/json-patch+json') return jsonPatch(document, patch);
  if (!isObj(patch)) {
    throw badRequest(
      `json: cannot unmarshal ${Array.isArray(patch) ? 'array' : typeof patch} into Go value of type map[string]interface {}`,
    );
  }
  if (type === 'application/merge-patch+json') return jsonMergePatch(document, patch);
  return strategicMergePatch(document, patch);
}
