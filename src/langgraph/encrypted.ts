/**
 * `EncryptedSerializer`: authenticated encryption at rest for LangGraph checkpoints, around any serializer
 * (docs/encryption.md). Python's `EncryptedSerializer` is the prior art; unlike it, a value that is not encrypted, is
 * encrypted under a key this serializer does not hold, or fails authentication is a typed error, never read as it is
 * (langgraph#8938), unless plaintext is explicitly allowed for a migration.
 *
 * A stored value: type `"<inner type>+aes256gcm:<key id>"`, bytes `nonce (12) ‖ tag (16) ‖ ciphertext`. The whole type
 * string is the cipher's additional authenticated data, so neither the inner type nor the key id can be swapped.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { JsonPlusSerializer, type SerializerProtocol } from "@langchain/langgraph-checkpoint";
import { IntegrityError, InvalidInputError } from "../core/errors.js";

const CIPHER = "aes-256-gcm";
/** The marker between the inner type and the key id in a stored type string. */
const MARK = "+aes256gcm:";
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Key ids travel inside the stored type string, so they keep to characters that cannot be confused with its syntax. */
const KEY_ID = /^[A-Za-z0-9_.-]{1,64}$/;

export interface EncryptedSerializerOptions {
  /**
   * Every key this serializer may read, by key id: 32 bytes each (AES-256). Old keys stay here after a rotation so
   * rows written under them still read.
   */
  keys: Readonly<Record<string, Uint8Array>>;
  /** The key id new values are written under; must be one of `keys`. */
  currentKeyId: string;
  /** The serializer whose output is encrypted; default LangGraph's `JsonPlusSerializer`. */
  serde?: SerializerProtocol;
  /**
   * Read values that were stored without encryption (written before encryption was turned on) instead of refusing
   * them. For a migration only: while it is on, whoever can write the database can plant plaintext values.
   * Default `false`.
   */
  allowPlaintext?: boolean;
}

/**
 * A LangGraph `SerializerProtocol` that encrypts what another serializer produces with AES-256-GCM (`node:crypto`).
 * Pass it as the saver's `serde`. Reading a value that was tampered with, written under an unknown key id or stored as
 * plaintext (unless `allowPlaintext`) is `INTEGRITY` (`IntegrityError`); nothing is returned for it.
 *
 * Each value is authenticated on its own: changing, truncating or re-typing its bytes is detected; deleting rows or
 * moving a whole encrypted value to another row is not (docs/encryption.md).
 *
 * @example
 * ```ts
 * import { randomBytes } from "node:crypto";
 * import { EncryptedSerializer, FencedCheckpointSaver } from "fenced-state/langgraph";
 * const serde = new EncryptedSerializer({ keys: { k1: randomBytes(32) }, currentKeyId: "k1" });
 * const checkpointer = FencedCheckpointSaver.fromConnString(":memory:", { serde });
 * ```
 */
export class EncryptedSerializer implements SerializerProtocol {
  /** The key id new values are written under. */
  readonly currentKeyId: string;
  readonly allowPlaintext: boolean;
  private readonly serde: SerializerProtocol;
  private readonly keys: ReadonlyMap<string, Buffer>;

  constructor(options: EncryptedSerializerOptions) {
    const keys = new Map<string, Buffer>();
    for (const [id, key] of Object.entries(options?.keys ?? {})) {
      if (!KEY_ID.test(id)) throw invalid(["keys", id], "a key id is 1 to 64 of [A-Za-z0-9_.-]");
      if (!(key instanceof Uint8Array) || key.byteLength !== KEY_BYTES) {
        throw invalid(
          ["keys", id],
          `an AES-256 key is ${KEY_BYTES} bytes, got ${key instanceof Uint8Array ? key.byteLength : typeof key}`,
        );
      }
      keys.set(id, Buffer.from(key)); // a copy: the caller may wipe or reuse its buffer
    }
    if (!keys.has(options?.currentKeyId)) throw invalid(["currentKeyId"], "must name one of keys");
    this.keys = keys;
    this.currentKeyId = options.currentKeyId;
    this.serde = options.serde ?? new JsonPlusSerializer();
    this.allowPlaintext = options.allowPlaintext ?? false;
  }

  async dumpsTyped(data: unknown): Promise<[string, Uint8Array]> {
    const [innerType, plaintext] = await this.serde.dumpsTyped(data);
    const type = `${innerType}${MARK}${this.currentKeyId}`;
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv(CIPHER, this.keys.get(this.currentKeyId)!, nonce);
    cipher.setAAD(Buffer.from(type, "utf8"));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return [type, new Uint8Array(Buffer.concat([nonce, cipher.getAuthTag(), body]))];
  }

  async loadsTyped(type: string, data: Uint8Array | string): Promise<unknown> {
    const [innerType, plaintext] = this.decrypt(type, data);
    return this.serde.loadsTyped(innerType, plaintext);
  }

  /**
   * @internal The inner serializer's `[type, bytes]` of a stored value: what `loadsTyped` hands to it. The saver
   * compares re-puts by these, since the same value never encrypts to the same bytes twice.
   */
  decrypt(type: string, data: Uint8Array | string): [string, Uint8Array | string] {
    const at = type.lastIndexOf(MARK);
    if (at < 0) {
      if (this.allowPlaintext) return [type, data];
      throw new IntegrityError(
        { reason: "plaintext", type },
        `a value stored as "${type}" is not encrypted; it was refused (allowPlaintext reads such values while migrating)`,
      );
    }
    const keyId = type.slice(at + MARK.length);
    const key = this.keys.get(keyId);
    if (!key)
      throw new IntegrityError(
        { reason: "unknown-key", type, keyId },
        `a value is encrypted under key id "${keyId}", which this serializer does not hold`,
      );
    if (typeof data === "string" || data.byteLength < NONCE_BYTES + TAG_BYTES) {
      throw new IntegrityError(
        { reason: "tampered", type, keyId },
        `a value stored as "${type}" is too short to be encrypted: it was tampered with`,
      );
    }
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const decipher = createDecipheriv(CIPHER, key, bytes.subarray(0, NONCE_BYTES));
    decipher.setAAD(Buffer.from(type, "utf8"));
    decipher.setAuthTag(bytes.subarray(NONCE_BYTES, NONCE_BYTES + TAG_BYTES));
    try {
      const plaintext = Buffer.concat([decipher.update(bytes.subarray(NONCE_BYTES + TAG_BYTES)), decipher.final()]);
      return [type.slice(0, at), new Uint8Array(plaintext)];
    } catch {
      throw new IntegrityError(
        { reason: "tampered", type, keyId },
        `a value stored as "${type}" failed authentication: it was tampered with, or written under another key with id "${keyId}"`,
      );
    }
  }
}

function invalid(path: string[], message: string): InvalidInputError {
  return new InvalidInputError({ issues: [{ path, message }] });
}
