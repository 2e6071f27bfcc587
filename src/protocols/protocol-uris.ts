// The URI namespace of this project's DIDComm protocols (perun, perun-identity,
// perun-credential-sale; specified in docs/protocols/), and the `https://didcomm.org/` namespace
// they used before, still accepted inbound until the deprecation ends (docs/protocols/README.md).
// A message class of the old namespace is a subclass of the current one with the old @type: Credo
// matches classes by document URI, protocol name and major version, and the subclass reaches the
// same handler and every `instanceof` check of the current class.
import { JsonTransformer, type Constructor } from '@credo-ts/core';
import {
  IsValidMessageType,
  parseMessageType,
  type DidCommMessage,
  type DidCommMessageHandler,
  type ParsedMessageType,
} from '@credo-ts/didcomm';

/** This project's namespace: the protocols' documents are docs/protocols/ of this repository. */
export const PROTOCOL_NAMESPACE = 'https://perun-agent.org/protocols/';
/** Where the protocols sat before, without an Aries RFC: accepted inbound until perun-agent 0.4.0. */
export const LEGACY_PROTOCOL_NAMESPACE = 'https://didcomm.org/';

/** The protocol URI (PIURI) of `name` at `version` in this project's namespace. */
export function protocolUri(name: string, version: string): string {
  return `${PROTOCOL_NAMESPACE}${name}/${version}`;
}

/** A message class as Credo registers it: constructible, with its parsed @type. */
export type MessageClass<M extends DidCommMessage = DidCommMessage> = Constructor<M> & {
  type: ParsedMessageType;
};

/** `uri` (a protocol or message type URI of this namespace) in the old namespace. */
export function legacyUri(uri: string): string {
  if (!uri.startsWith(PROTOCOL_NAMESPACE)) throw new TypeError(`not a URI of ${PROTOCOL_NAMESPACE}: ${uri}`);
  return LEGACY_PROTOCOL_NAMESPACE + uri.slice(PROTOCOL_NAMESPACE.length);
}

/** Whether a message type URI is of the old namespace. */
export function isLegacyUri(uri: string): boolean {
  return uri.startsWith(LEGACY_PROTOCOL_NAMESPACE);
}

/** The old namespace's subclass of `cls`: the same message under its old @type. */
export function legacyMessageClass<C extends MessageClass>(cls: C): C {
  const type = parseMessageType(legacyUri(cls.type.messageTypeUri));
  const Base = cls as unknown as Constructor<DidCommMessage> & { type: unknown };
  class Legacy extends Base {
    public static override readonly type = type;
    public override readonly type = type.messageTypeUri;
  }
  IsValidMessageType(type)(Legacy.prototype, 'type');
  Object.defineProperty(Legacy, 'name', { value: `Legacy${cls.name}` });
  return Legacy as unknown as C;
}

/** Message classes → their subclasses under the old @type. */
export type LegacyClasses = ReadonlyMap<MessageClass, MessageClass>;

/** The old namespace's subclass of each of `classes`, by class. */
export function legacyMessageClasses(classes: readonly MessageClass[]): LegacyClasses {
  return new Map(classes.map((cls) => [cls, legacyMessageClass(cls)]));
}

/** `cls`'s subclass under the old @type in `legacy`. */
export function legacyClass<M extends DidCommMessage>(
  legacy: LegacyClasses,
  cls: MessageClass<M>,
): MessageClass<M> {
  const old = legacy.get(cls);
  if (old === undefined) throw new TypeError(`no legacy class for ${cls.type.messageTypeUri}`);
  return old as MessageClass<M>;
}

/**
 * The handler of `handler`'s messages under their old @type (each class's subclass in `legacy`;
 * messages of other protocols that `handler` also takes, such as Credo's generic problem report,
 * have none): it hands them to `handler`, and an answer `handler` returns goes back under its old
 * @type too.
 */
export function legacyHandler(handler: DidCommMessageHandler, legacy: LegacyClasses): DidCommMessageHandler {
  return {
    supportedMessages: handler.supportedMessages.flatMap((cls) => legacy.get(cls) ?? []),
    async handle(ctx) {
      const out = await handler.handle(ctx);
      const Legacy = out === undefined ? undefined : legacy.get(out.message.constructor as MessageClass);
      if (out !== undefined && Legacy !== undefined) out.message = toLegacy(out.message, Legacy);
      return out;
    },
  };
}

/** `message` under its old @type (the same @id, thread and fields), as an instance of `Legacy`. */
export function toLegacy<M extends DidCommMessage>(message: M, Legacy: MessageClass<M>): M {
  const json = JsonTransformer.toJSON(message) as Record<string, unknown>;
  return JsonTransformer.fromJSON({ ...json, '@type': Legacy.type.messageTypeUri }, Legacy);
}
