import { Column, Entity, Index, PrimaryGeneratedColumn } from "typeorm";
import type { TokenScope } from "../../schema/statuses.js";

/** A bearer token. Only its sha256 is stored: the secret is shown once, when it is created. */
@Entity("api_tokens")
@Index("UQ_api_tokens_hash", ["tokenHash"], { unique: true })
export class ApiTokenRow {
  @PrimaryGeneratedColumn("uuid")
  id!: string;

  @Column("varchar", { length: 200 })
  name!: string;

  @Column("char", { name: "token_hash", length: 64 })
  tokenHash!: string;

  /** The first characters of the secret, enough to recognise a token in a list. */
  @Column("varchar", { length: 16 })
  prefix!: string;

  @Column("text", { array: true })
  scopes!: TokenScope[];

  @Column("varchar", { name: "created_by", length: 200, nullable: true })
  createdBy!: string | null;

  @Column("timestamptz", { name: "created_at", default: () => "clock_timestamp()" })
  createdAt!: Date;

  @Column("timestamptz", { name: "revoked_at", nullable: true })
  revokedAt!: Date | null;
}
