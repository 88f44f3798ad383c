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
