// One parse of what a Bolt block action carries, for every listener: the value picked (a button's
// value, a select's option, a users select's user, a date picked, ticked checkboxes), an incident option's two
// halves (`<incident>|<choice>`), and the values of a message's or a view's inputs (`state.values`).
import { parseOptionValue } from '../blocks/incident-ids.js';

/** The fields of a block action (or of one input in `state.values`) that carry what was picked. */
interface ActionLike {
  block_id?: string;
  value?: string | null;
  selected_option?: { value?: string } | null;
  selected_options?: Array<{ value?: string }> | null;
  selected_user?: string | null;
  selected_date?: string | null;
}

export interface Picked {
  /** The button's value, the option, user or date picked; undefined when empty. */
  value?: string;
  /** Every option ticked (checkboxes, multi-selects), empty ones left out. */
  values: string[];
  /** An incident control's option `<incident>|<choice>`, split. */
  option?: { incidentId: string; choice: string };
  blockId?: string;
}

export function pickedOf(action: ActionLike | undefined): Picked {
  const value =
    action?.selected_option?.value ?? action?.selected_user ?? action?.selected_date ?? action?.value ?? undefined;
  const option = action?.selected_option?.value ? parseOptionValue(action.selected_option.value) : undefined;
  return {
    ...(value ? { value } : {}),
    values: (action?.selected_options ?? []).map((o) => o.value ?? '').filter(Boolean),
    ...(option ? { option } : {}),
    ...(action?.block_id ? { blockId: action.block_id } : {}),
  };
}

type StateValues = Record<string, Record<string, ActionLike>> | undefined;

/**
 * What one input of a message's or view's `state.values` holds, by block and action id (views
 * whose inputs all use the action id `value` pass just the block); undefined when it is not there.
 */
export function inputOf(values: StateValues, block: string, actionId = 'value'): Picked | undefined {
  const input = values?.[block]?.[actionId];
  return input ? pickedOf(input) : undefined;
}
