/**
 * permessage-deflate negotiation (RFC 7692 sections 5 and 7.1): parsing and
 * validating parameters, the server's choice among offers, the client's
 * offer and its check of the server's answer. Pure: no zlib here.
 */
import { DEFAULTS } from '../../protocol/options.js';
import type { ExtensionOffer, ExtensionParam } from '../../handshake/index.js';
import type { CheckedOptions } from './options.js';

export const EXTENSION_NAME = 'permessage-deflate';

/** The parameters of one offer or response, validated. */
export interface DeflateParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  /** undefined: parameter absent. */
  serverMaxWindowBits: number | undefined;
  /** undefined: absent; true: present without a value (offers only). */
  clientMaxWindowBits: number | true | undefined;
}

/** What both sides agreed on; drives the transform. */
export interface DeflateAgreement {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  /** Window the server compresses with (15 when unconstrained). */
  serverMaxWindowBits: number;
  /** Window the client compresses with (15 when unconstrained). */
  clientMaxWindowBits: number;
}

/** Window bits: decimal 8-15, no leading zero (RFC 7692 7.1.2.1). */
function parseBits(value: string): number | undefined {
  if (!/^(8|9|1[0-5])$/.test(value)) return undefined;
  return Number(value);
}

/**
 * Validate an offer ('offer') or a response ('response'). Returns the params
 * or a sentence saying why they are invalid: an unknown parameter, a
 * duplicate, a value on a flag, or a value out of range.
 */
export function parseDeflateParams(params: readonly ExtensionParam[], kind: 'offer' | 'response'): DeflateParams | string {
  const out: DeflateParams = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: undefined,
    clientMaxWindowBits: undefined,
  };
  const seen = new Set<string>();
  for (const { name, value } of params) {
    if (seen.has(name)) return `duplicate parameter "${name}"`;
    seen.add(name);
    switch (name) {
      case 'server_no_context_takeover':
      case 'client_no_context_takeover':
        if (value !== null) return `parameter "${name}" takes no value`;
        if (name === 'server_no_context_takeover') out.serverNoContextTakeover = true;
        else out.clientNoContextTakeover = true;
        break;
      case 'server_max_window_bits': {
        const bits = value === null ? undefined : parseBits(value);
        if (bits === undefined) return `invalid value for "server_max_window_bits": ${value === null ? '(none)' : value}`;
        out.serverMaxWindowBits = bits;
        break;
      }
      case 'client_max_window_bits': {
        if (value === null) {
          if (kind === 'response') return 'parameter "client_max_window_bits" needs a value in a response';
          out.clientMaxWindowBits = true;
          break;
        }
        const bits = parseBits(value);
        if (bits === undefined) return `invalid value for "client_max_window_bits": ${value}`;
        out.clientMaxWindowBits = bits;
        break;
      }
      default:
        return `unknown parameter "${name}"`;
    }
  }
  return out;
}

/**
 * Server side: the first offer we can accept, with our response and the
 * agreement, or null when every offer is invalid (offers are declined, never
 * crashed on). Our options only ever tighten what the client asked for.
 */
export function acceptOffer(
  offers: readonly ExtensionOffer[],
  options: CheckedOptions,
): { response: ExtensionOffer; agreement: DeflateAgreement } | null {
  for (const offer of offers) {
    if (offer.name !== EXTENSION_NAME) continue;
    const params = parseDeflateParams(offer.params, 'offer');
    if (typeof params === 'string') continue;
    const response: ExtensionParam[] = [];
    const serverNoContextTakeover = params.serverNoContextTakeover || (options.serverNoContextTakeover ?? DEFAULTS.perMessageDeflate.serverNoContextTakeover);
    if (serverNoContextTakeover) response.push({ name: 'server_no_context_takeover', value: null });
    const clientNoContextTakeover = options.clientNoContextTakeover ?? DEFAULTS.perMessageDeflate.clientNoContextTakeover;
    if (clientNoContextTakeover) response.push({ name: 'client_no_context_takeover', value: null });
    let serverBits = 15;
    if (params.serverMaxWindowBits !== undefined || options.serverMaxWindowBits !== undefined) {
      serverBits = Math.min(params.serverMaxWindowBits ?? 15, options.serverMaxWindowBits ?? 15);
      response.push({ name: 'server_max_window_bits', value: String(serverBits) });
    }
    let clientBits = 15;
    if (params.clientMaxWindowBits !== undefined) {
      // Only an offer that carries client_max_window_bits lets us answer with it.
      const offered = params.clientMaxWindowBits === true ? 15 : params.clientMaxWindowBits;
      clientBits = Math.min(offered, options.clientMaxWindowBits ?? 15);
      if (clientBits < 15 || params.clientMaxWindowBits !== true) response.push({ name: 'client_max_window_bits', value: String(clientBits) });
    }
    return {
      response: { name: EXTENSION_NAME, params: response },
      agreement: { serverNoContextTakeover, clientNoContextTakeover, serverMaxWindowBits: serverBits, clientMaxWindowBits: clientBits },
    };
  }
  return null;
}

/** Client side: our offer. client_max_window_bits is always present so a server may shrink our window. */
export function clientOffer(options: CheckedOptions): ExtensionOffer {
  const params: ExtensionParam[] = [];
  if (options.serverNoContextTakeover) params.push({ name: 'server_no_context_takeover', value: null });
  if (options.clientNoContextTakeover) params.push({ name: 'client_no_context_takeover', value: null });
  if (options.serverMaxWindowBits !== undefined) params.push({ name: 'server_max_window_bits', value: String(options.serverMaxWindowBits) });
  params.push({
    name: 'client_max_window_bits',
    value: options.clientMaxWindowBits !== undefined ? String(options.clientMaxWindowBits) : null,
  });
  return { name: EXTENSION_NAME, params };
}

/**
 * Client side: check the server's answer against our offer (RFC 7692 7:
 * the client must fail the connection on an invalid response, or one that
 * violates the offer). Returns the agreement or throws.
 */
export function acceptResponse(response: ExtensionOffer, options: CheckedOptions): DeflateAgreement {
  const params = parseDeflateParams(response.params, 'response');
  if (typeof params === 'string') throw new Error(`Invalid permessage-deflate response: ${params}`);
  if (options.serverNoContextTakeover && !params.serverNoContextTakeover) {
    throw new Error('Invalid permessage-deflate response: server_no_context_takeover was requested but not accepted');
  }
  if (options.serverMaxWindowBits !== undefined) {
    if (params.serverMaxWindowBits === undefined || params.serverMaxWindowBits > options.serverMaxWindowBits) {
      throw new Error(`Invalid permessage-deflate response: server_max_window_bits must be at most ${options.serverMaxWindowBits}`);
    }
  }
  // A response's client_max_window_bits always has a value, checked by parseDeflateParams.
  const clientBits = params.clientMaxWindowBits as number | undefined;
  return {
    serverNoContextTakeover: params.serverNoContextTakeover,
    clientNoContextTakeover: params.clientNoContextTakeover,
    serverMaxWindowBits: params.serverMaxWindowBits ?? 15,
    // Our offer's own value still bounds us when the server's is larger or absent.
    clientMaxWindowBits: Math.min(clientBits ?? 15, options.clientMaxWindowBits ?? 15),
  };
}
