// Each channel phase in the word a user would use (ChannelView.status), for the node's views and
// for the listing served from the store while the node starts (./stored-channels.ts).
import type { Phase } from '../../channels/types.js';
import type { ChannelStatus } from './types.js';

export const PHASE_WORDS: Record<Phase, ChannelStatus> = {
  InitActing: 'proposed',
  InitSigning: 'opening',
  Funding: 'funding',
  Acting: 'open',
  Signing: 'updating',
  Final: 'closing',
  Registering: 'disputing',
  Registered: 'disputed',
  Progressing: 'disputed',
  Progressed: 'disputed',
  Withdrawing: 'withdrawing',
  Withdrawn: 'closed',
};
