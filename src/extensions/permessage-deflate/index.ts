/**
 * permessage-deflate (RFC 7692) as a server and a client extension.
 */
import type { ExtensionOffer } from '../../handshake/index.js';
import type { MessageTransform } from '../../protocol/extension.js';
import type { ClientExtension, ServerExtension } from '../extension.js';
import { DeflateTransform } from './deflate-transform.js';
import { EXTENSION_NAME, acceptOffer, acceptResponse, clientOffer } from './negotiation.js';
import { checkOptions, type PerMessageDeflateOptions } from './options.js';

export { DEFLATE_DEFAULTS, type PerMessageDeflateOptions } from './options.js';
export { EXTENSION_NAME, acceptOffer, acceptResponse, clientOffer, parseDeflateParams, type DeflateAgreement, type DeflateParams } from './negotiation.js';
export { DeflateTransform } from './deflate-transform.js';

export function serverPerMessageDeflate(given: PerMessageDeflateOptions = {}): ServerExtension {
  const options = checkOptions(given);
  return {
    name: EXTENSION_NAME,
    accept(offers: readonly ExtensionOffer[]) {
      const accepted = acceptOffer(offers, options);
      if (accepted === null) return null;
      return {
        response: accepted.response,
        createTransform: (): MessageTransform => new DeflateTransform('server', accepted.agreement, options),
      };
    },
  };
}

export function clientPerMessageDeflate(given: PerMessageDeflateOptions = {}): ClientExtension {
  const options = checkOptions(given);
  return {
    name: EXTENSION_NAME,
    offers: () => [clientOffer(options)],
    accept(response: ExtensionOffer) {
      const agreement = acceptResponse(response, options);
      return () => new DeflateTransform('client', agreement, options);
    },
  };
}
