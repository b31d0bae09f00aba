// action_id and callback_id values, exported once so no string is repeated in two places.

/** Prefix of every "next step" button: `remedy:<remedy-id>`; its value is a RemedyButtonValue. */
export const REMEDY_ACTION_PREFIX = 'remedy:';
export const REMEDY_ACTION_PATTERN = /^remedy:/;

export interface RemedyButtonValue {
  remedy: string;
  params: Record<string, string | number>;
}

export function remedyActionId(remedy: string): string {
  return `${REMEDY_ACTION_PREFIX}${remedy}`;
}
