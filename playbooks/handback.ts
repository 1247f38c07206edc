/**
 * Planned director maintenance, step 2: `play handback -i inventory`. The
 * MASTER's priority offset back to 0: it preempts and takes the VIP back;
 * waits until it alone holds it.
 */
import { handoverPlay } from './handover.ts';

export default handoverPlay(0, 'handback');
