/**
 * Metadata-only answers, as the API server gives them when a client's Accept names
 * `application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1` (a list:
 * `as=PartialObjectMetadataList`): kind PartialObjectMetadata, apiVersion meta.k8s.io/v1, the
 * object's metadata and nothing else, so a Secret's data never leaves the server. An Accept
 * that offers only transformations the server does not know is refused with 406, as the
 * server does; one without `as=` gets the full object.
 */
import { ApiError } from './errors.js';
import { isObj } from './json.js';

const ACCEPTED = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'];
const GROUP = 'meta.k8s.io';
const VERSIONS = new Set(['v1', 'v1beta1']);

export type Answer = { as: 'full' } | { as: 'PartialObjectMetadata' | 'PartialObjectMetadataList'; version: string };

interface MediaRange {
  type: string;
  params: Record<string, string>;
}

function parseAccept(accept: string): MediaRange[] {
  return accept
    .split(',')
    .map((part) => {
      const [type = '', ...rest] = part.split(';').map((s) => s.trim());
      const params: Record<string, string> = {};
      for (const p of rest) {
        const eq = p.indexOf('=');
        if (eq > 0) params[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim();
      }
      return { type: type.toLowerCase(), params };
    })
    .filter((r) => r.type !== '');
}

/** What the client asked for, for a get (`list` false) or a list; throws 406 when nothing fits. */
export function negotiate(accept: string | undefined, list: boolean): Answer {
  if (!accept) return { as: 'full' };
  const wanted = list ? 'PartialObjectMetadataList' : 'PartialObjectMetadata';
  for (const r of parseAccept(accept)) {
    if (r.params.q === '0') continue;
    const jsonLike = r.type === 'application/json' || r.type === 'application/*' || r.type === '*/*';
    if (r.params.as === undefined) {
      if (jsonLike || ACCEPTED.includes(r.type)) return { as: 'full' };
      continue;
    }
    const version = r.params.v ?? '';
    if (jsonLike && r.params.as === wanted && r.params.g === GROUP && VERSIONS.has(version))
      return { as: wanted, version };
  }
  throw new ApiError(406, 'NotAcceptable', `only the following media types are accepted: ${ACCEPTED.join(', ')}`);
}

/** The Content-Type the server answers a transformed object with. */
export function contentTypeOf(answer: Answer): string {
  return answer.as === 'full' ? 'application/json' : `application/json;as=${answer.as};g=${GROUP};v=${answer.version}`;
}

function partialOf(obj: unknown, version: string): Record<string, unknown> {
  const metadata = isObj(obj) && isObj(obj.metadata) ? obj.metadata : {};
  return { kind: 'PartialObjectMetadata', apiVersion: `${GROUP}/${version}`, metadata };
}

/** The object, or list, in the shape the client negotiated. */
export function shape(answer: Answer, json: unknown): unknown {
  if (answer.as === 'full') return json;
  if (answer.as === 'PartialObjectMetadata') return partialOf(json, answer.version);
  const list = isObj(json) ? json : {};
  const items = Array.isArray(list.items) ? list.items : [];
  return {
    kind: 'PartialObjectMetadataList',
    apiVersion: `${GROUP}/${answer.version}`,
    metadata: isObj(list.metadata) ? list.metadata : {},
    items: items.map((i) => partialOf(i, answer.version)),
  };
}
