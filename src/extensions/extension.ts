/**
 * Extension negotiation during the opening handshake (RFC 6455 section 9.1).
 * A server-side extension picks the first acceptable offer and answers with
 * its parameters; a client-side one makes offers and validates the answer.
 * Either way the agreement yields a MessageTransform for the connection.
 */
import type { ExtensionOffer } from '../handshake/index.js';
import type { MessageTransform } from '../protocol/extension.js';

export interface ServerExtension {
  readonly name: string;
  /** Accept the first acceptable offer (in the client's order of preference), or decline with null. */
  accept(offers: readonly ExtensionOffer[]): { response: ExtensionOffer; createTransform(): MessageTransform } | null;
}

export interface ClientExtension {
  readonly name: string;
  /** The offers to send, in order of preference. */
  offers(): ExtensionOffer[];
  /** Validate the server's response; throws an Error naming what is wrong. */
  accept(response: ExtensionOffer): () => MessageTransform;
}

/**
 * The transform for what the server accepted (the extensions of its
 * response, already checked to be among those offered): none, or exactly
 * one answer to `offered`. Throws an Error naming what is wrong.
 */
export function acceptedTransform(offered: ClientExtension | null, accepted: readonly ExtensionOffer[]): MessageTransform | null {
  if (accepted.length === 0 || offered === null) return null;
  if (accepted.length > 1) throw new Error(`Server accepted the "${offered.name}" extension more than once`);
  return offered.accept(accepted[0]!)();
}
