// The Perun protocol's DIDComm messages, one class per channel message of the core
// (src/channels/messages.ts) under PERUN_PROTOCOL_URI (docs/protocols/perun.md), fields in
// snake_case, and their subclasses under the old https://didcomm.org/perun/1.0. Credo's class
// validation checks only the outer shape; the channel core's strict decoder checks every value
// when a message is turned into a ChannelMessage (../wire-format.ts).
import {
  DidCommMessage,
  DidCommProblemReportMessage,
  IsValidMessageType,
  parseMessageType,
} from '@credo-ts/didcomm';
import type { DidCommProblemReportMessageOptions } from '@credo-ts/didcomm';
import { Expose } from 'class-transformer';
import { IsArray, IsInt, IsObject, IsOptional, IsString, Min } from 'class-validator';
import type { JsonObject } from '../../../channels/json.js';
import { legacyMessageClasses, protocolUri } from '../../protocol-uris.js';

export const PERUN_PROTOCOL_URI = protocolUri('perun', '1.0');
export const PERUN_ROLES = ['proposer', 'responder'] as const;

/** Every Perun message carries its fields as given (snake_case JSON) and a fresh @id. */
function init(m: DidCommMessage, fields: Record<string, unknown> | undefined, id?: string): void {
  if (fields === undefined) return;
  m.id = id ?? m.generateId();
  Object.assign(m, fields);
}

export class LedgerChannelProposalMessage extends DidCommMessage {
  public static override readonly type = parseMessageType(`${PERUN_PROTOCOL_URI}/ledger-channel-proposal`);
  @IsValidMessageType(LedgerChannelProposalMessage.type)
  public override readonly type = LedgerChannelProposalMessage.type.messageTypeUri;

  public constructor(fields?: Omit<LedgerChannelProposalMessage, keyof DidCommMessage>, id?: string) {
    super();
    init(this, fields, id);
  }

  @Expose({ name: 'proposal_id' }) @IsString() public proposalId!: string;
  @Expose({ name: 'challenge_duration' }) @IsString() public challengeDuration!: string;
  @Expose({ name: 'nonce_share' }) @IsString() public nonceShare!: string;
  @IsArray() public participants!: string[];
  @IsArray() public peers!: string[];
  @IsString() public app!: string;
  @Expose({ name: 'init_data' }) @IsString() public initData!: string;
  @Expose({ name: 'init_bals' }) @IsObject() public initBals!: JsonObject;
  @Expose({ name: 'funding_agreement' }) @IsArray() public fundingAgreement!: string[][];
  /** On a channel of two backends (Ethereum and TON): each participant's second-chain key. */
  @Expose({ name: 'cc_addresses' }) @IsOptional() @IsArray() public ccAddresses?: string[];
}

export class LedgerChannelAcceptMessage extends DidCommMessage {
  public static override readonly type = parseMessageType(`${PERUN_PROTOCOL_URI}/ledger-channel-accept`);
  @IsValidMessageType(LedgerChannelAcceptMessage.type)
  public override readonly type = LedgerChannelAcceptMessage.type.messageTypeUri;

  public constructor(fields?: Omit<LedgerChannelAcceptMessage, keyof DidCommMessage>, id?: string) {
    super();
    init(this, fields, id);
  }

  @Expose({ name: 'proposal_id' }) @IsString() public proposalId!: string;
  @Expose({ name: 'nonce_share' }) @IsString() public nonceShare!: string;
  @IsString() public sig!: string;
}

export class ChannelProposalRejectMessage extends DidCommMessage {
  public static override readonly type = parseMessageType(`${PERUN_PROTOCOL_URI}/channel-proposal-reject`);
  @IsValidMessageType(ChannelProposalRejectMessage.type)
  public override readonly type = ChannelProposalRejectMessage.type.messageTypeUri;

  public constructor(fields?: Omit<ChannelProposalRejectMessage, keyof DidCommMessage>, id?: string) {
    super();
    init(this, fields, id);
  }

  @Expose({ name: 'proposal_id' }) @IsString() public proposalId!: string;
  @IsString() public reason!: string;
}

export class SubChannelProposalMessage extends DidCommMessage {
  public static override readonly type = parseMessageType(`${PERUN_PROTOCOL_URI}/sub-channel-proposal`);
  @IsValidMessageType(SubChannelProposalMessage.type)
  public override readonly type = SubChannelProposalMessage.type.messageTypeUri;

  public constructor(fields?: Omit<SubChannelProposalMessage, keyof DidCommMessage>, id?: string) {
    super();
    init(this, fields, id);
  }

  @Expose({ name: 'proposal_id' }) @IsString() public proposalId!: string;
  @Expose({ name: 'parent_id' }) @IsString() public parentId!: string;
  @Expose({ name: 'challenge_duration' }) @IsString() public challengeDuration!: string;
  @Expose({ name: 'nonce_share' }) @IsString() public nonceShare!: string;
  @IsString() public app!: string;
  @Expose({ name: 'init_data' }) @IsString() public initData!: string;
  @Expose({ name: 'init_bals' }) @IsObject() public initBals!: JsonObject;
}

export class SubChannelAcceptMessage extends DidCommMessage {
  public static override readonly type = parseMessageType(`${PERUN_PROTOCOL_URI}/sub-channel-accept`);
  @IsValidMessageType(SubChannelAcceptMessage.type)
  public override readonly type = SubChannelAcceptMessage.type.messageTypeUri;

  public constructor(fields?: Omit<SubChannelAcceptMessage, keyof DidCommMessage>, id?: string) {
    super();
    init(this, fields, id);
  }

  @Expose({ name: 'proposal_id' }) @IsString() public proposalId!: string;
  @Expose({ name: 'nonce_share' }) @IsString() public nonceShare!: string;
  @IsString() public sig!: string;
}

export class VirtualChannelProposalMessage extends DidCommMessage {
  public static override readonly type = parseMessageType(`${PERUN_PROTOCOL_URI}/virtual-channel-proposal`);
  @IsValidMessageType(VirtualChannelProposalMessage.type)
  public override readonly type = VirtualChannelProposalMessage.type.messageTypeUri;

  public constructor(fields?: Omit<VirtualChannelProposalMessage, keyof DidCommMessage>, id?: string) {
    super();
    init(this, fields, id);
  }

  @Expose({ name: 'proposal_id' }) @IsString() public proposalId!: string;
  @Expose({ name: 'challenge_duration' }) @IsString() public challengeDuration!: string;
  @Expose({ name: 'nonce_share' }) @IsString() public nonceShare!: string;
  @IsArray() public participants!: string[];
  @IsString() public intermediary!: string;
  @Expose({ name: 'init_bals' }) @IsObject() public initBals!: JsonObject;
}

export class VirtualChannelAcceptMessage extends DidCommMessage {
  public static override readonly type = parseMessageType(`${PERUN_PROTOCOL_URI}/virtual-channel-accept`);
  @IsValidMessageType(VirtualChannelAcceptMessage.type)
  public override readonly type = VirtualChannelAcceptMessage.type.messageTypeUri;

  public constructor(fields?: Omit<VirtualChannelAcceptMessage, keyof DidCommMessage>, id?: string) {
    super();
    init(this, fields, id);
  }

  @Expose({ name: 'proposal_id' }) @IsString() public proposalId!: string;
  @Expose({ name: 'nonce_share' }) @IsString() public nonceShare!: string;
  @IsString() public sig!: string;
}

export class VirtualChannelUpdateMessage extends DidCommMessage {
  public static override readonly type = parseMessageType(`${PERUN_PROTOCOL_URI}/virtual-channel-update`);
  @IsValidMessageType(VirtualChannelUpdateMessage.type)
  public override readonly type = VirtualChannelUpdateMessage.type.messageTypeUri;

  public constructor(fields?: Omit<VirtualChannelUpdateMessage, keyof DidCommMessage>, id?: string) {
    super();
    init(this, fields, id);
  }

  @IsObject() public state!: JsonObject;
  @Expose({ name: 'actor_idx' }) @IsInt() @Min(0) public actorIdx!: number;
  @IsString() public sig!: string;
  @IsObject() public virtual!: JsonObject;
}

export class ChannelUpdateMessage extends DidCommMessage {
  public static override readonly type = parseMessageType(`${PERUN_PROTOCOL_URI}/channel-update`);
  @IsValidMessageType(ChannelUpdateMessage.type)
  public override readonly type = ChannelUpdateMessage.type.messageTypeUri;

  public constructor(fields?: Omit<ChannelUpdateMessage, keyof DidCommMessage>, id?: string) {
    super();
    init(this, fields, id);
  }

  @IsObject() public state!: JsonObject;
  @Expose({ name: 'actor_idx' }) @IsInt() @Min(0) public actorIdx!: number;
  @IsString() public sig!: string;
  /** The payments the update makes: `{ payment_id, asset, amount }`, the amount a decimal string. */
  @IsOptional() @IsArray() public payments?: JsonObject[];
}

export class ChannelUpdateAcceptMessage extends DidCommMessage {
  public static override readonly type = parseMessageType(`${PERUN_PROTOCOL_URI}/channel-update-accept`);
  @IsValidMessageType(ChannelUpdateAcceptMessage.type)
  public override readonly type = ChannelUpdateAcceptMessage.type.messageTypeUri;

  public constructor(fields?: Omit<ChannelUpdateAcceptMessage, keyof DidCommMessage>, id?: string) {
    super();
    init(this, fields, id);
  }

  @Expose({ name: 'channel_id' }) @IsString() public channelId!: string;
  @IsString() public version!: string;
  @IsString() public sig!: string;
}

export class ChannelUpdateRejectMessage extends DidCommMessage {
  public static override readonly type = parseMessageType(`${PERUN_PROTOCOL_URI}/channel-update-reject`);
  @IsValidMessageType(ChannelUpdateRejectMessage.type)
  public override readonly type = ChannelUpdateRejectMessage.type.messageTypeUri;

  public constructor(fields?: Omit<ChannelUpdateRejectMessage, keyof DidCommMessage>, id?: string) {
    super();
    init(this, fields, id);
  }

  @Expose({ name: 'channel_id' }) @IsString() public channelId!: string;
  @IsString() public version!: string;
  @IsString() public reason!: string;
  @IsOptional() @IsString() public code?: string;
  @Expose({ name: 'min_version' }) @IsOptional() @IsString() public minVersion?: string;
}

export class ChannelSyncMessage extends DidCommMessage {
  public static override readonly type = parseMessageType(`${PERUN_PROTOCOL_URI}/channel-sync`);
  @IsValidMessageType(ChannelSyncMessage.type)
  public override readonly type = ChannelSyncMessage.type.messageTypeUri;

  public constructor(fields?: Omit<ChannelSyncMessage, keyof DidCommMessage>, id?: string) {
    super();
    init(this, fields, id);
  }

  @IsString() public phase!: string;
  @IsObject() public state!: JsonObject;
  @IsArray() public sigs!: string[];
  /** The payments of versions the receiver missed: `{ version, payer, payment_id, asset, amount }`. */
  @IsOptional() @IsArray() public payments?: JsonObject[];
}

export class ChannelSyncBatchMessage extends DidCommMessage {
  public static override readonly type = parseMessageType(`${PERUN_PROTOCOL_URI}/channel-sync-batch`);
  @IsValidMessageType(ChannelSyncBatchMessage.type)
  public override readonly type = ChannelSyncBatchMessage.type.messageTypeUri;

  public constructor(fields?: Omit<ChannelSyncBatchMessage, keyof DidCommMessage>, id?: string) {
    super();
    init(this, fields, id);
  }

  /** One `channel-sync`'s fields per channel: `{ phase, state, sigs, payments? }`. */
  @IsArray() public channels!: JsonObject[];
  /** In an answer: the IDs of the answered batch's channels its sender compared with its own. */
  @IsOptional() @IsArray() public synced?: string[];
}

/** A refusal of a Perun message, threaded on it; `description.code` is one of PerunProblemCode. */
export class PerunProblemReportMessage extends DidCommProblemReportMessage {
  public static override readonly type = parseMessageType(`${PERUN_PROTOCOL_URI}/problem-report`);
  @IsValidMessageType(PerunProblemReportMessage.type)
  public override readonly type = PerunProblemReportMessage.type.messageTypeUri;

  public constructor(options: DidCommProblemReportMessageOptions & { minVersion?: string }) {
    super(options);
    if (options?.minVersion !== undefined) this.minVersion = options.minVersion;
  }

  /** With 'version-used': the lowest version the refusing participant signs (decimal). */
  @Expose({ name: 'min_version' }) @IsOptional() @IsString() public minVersion?: string;
}

export const PERUN_CHANNEL_MESSAGES = [
  LedgerChannelProposalMessage,
  LedgerChannelAcceptMessage,
  ChannelProposalRejectMessage,
  SubChannelProposalMessage,
  SubChannelAcceptMessage,
  VirtualChannelProposalMessage,
  VirtualChannelAcceptMessage,
  VirtualChannelUpdateMessage,
  ChannelUpdateMessage,
  ChannelUpdateAcceptMessage,
  ChannelUpdateRejectMessage,
  ChannelSyncMessage,
  ChannelSyncBatchMessage,
] as const;

export type PerunChannelDidCommMessage = InstanceType<(typeof PERUN_CHANNEL_MESSAGES)[number]>;

/** Each Perun message class (the problem report too) → its subclass under the old URI. */
export const LEGACY_PERUN_MESSAGES = legacyMessageClasses([
  ...PERUN_CHANNEL_MESSAGES,
  PerunProblemReportMessage,
]);
