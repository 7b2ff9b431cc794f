// SPDX-License-Identifier: MIT
/*
 * The meta-schemas built into the validator: the text of
 * schemas/meta/draft-07.schema.json, generated into schema_meta_draft07.c at build
 * time (hub/core/embed_text.py), so that "$ref": "http://json-schema.org/draft-07/schema#"
 * resolves with no file and no network.
 */
#ifndef RHEINHUB_SCHEMA_META_H
#define RHEINHUB_SCHEMA_META_H

#define SCHEMA_META_DRAFT07_URI "http://json-schema.org/draft-07/schema"

extern const char schema_meta_draft07[];

#endif
