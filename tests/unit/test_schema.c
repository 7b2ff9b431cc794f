// SPDX-License-Identifier: MIT
/*
 * Unit tests of the JSON Schema validator (hub/core/schema.c and schema_*.c): error
 * pointers, keywords and messages; the error budget; compile errors with their
 * schema location; numbers, strings and regexes where JSON Schema differs from the
 * obvious C; $id and $ref resolution beyond what the packaged test suite covers;
 * the depth and step limits; repeated compile and validate (for AddressSanitizer's
 * leak check); and the `rheinhub validate` command (hub/validate_cmd.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "schema.h"
#include "validate_cmd.h"

#define ERRORS_MAX 16

/* Compiles the schema text (which must compile) through reg, or a throwaway registry. */
static struct schema *compile_text(struct schema_registry *reg, const char *text)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    char err[512] = "";
    struct schema *s;

    if (!doc)
        fail_msg("schema text: %s: %s", text, jerr.text);
    s = schema_compile(reg, doc, NULL, err, sizeof(err));
    json_decref(doc);
    if (!s)
        fail_msg("schema %s does not compile: %s", text, err);
    return s;
}

/* Compiles the schema text, which must fail with a reason containing want. */
static void expect_compile_error(const char *text, const char *want)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    struct schema_registry *reg = schema_registry_new();
    char err[512] = "";
    struct schema *s;

    if (!doc)
        fail_msg("schema text: %s: %s", text, jerr.text);
    s = schema_compile(reg, doc, NULL, err, sizeof(err));
    json_decref(doc);
    schema_registry_free(reg);
    if (s) {
        schema_free(s);
        fail_msg("schema %s compiled; expected an error with \"%s\"", text, want);
    }
    if (!strstr(err, want))
        fail_msg("schema %s: error \"%s\" does not contain \"%s\"", text, err, want);
}

/* Validates the instance text; returns the error count (errors written to errs). */
static int validate_text(const struct schema *s, const char *text, struct schema_error *errs,
                         int max)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    int n;

    if (!v)
        fail_msg("instance text: %s: %s", text, jerr.text);
    n = schema_validate(s, v, errs, max);
    json_decref(v);
    return n;
}

/* Whether the instance text is valid against the schema text; checks both modes agree. */
static bool valid(const char *schema, const char *instance)
{
    struct schema_registry *reg = schema_registry_new();
    struct schema *s = compile_text(reg, schema);
    struct schema_error errs[ERRORS_MAX];
    int quiet = validate_text(s, instance, NULL, 0);
    int full = validate_text(s, instance, errs, ERRORS_MAX);

    schema_free(s);
    schema_registry_free(reg);
    if ((quiet == 0) != (full == 0))
        fail_msg("%s against %s: quiet says %d errors, recording says %d", instance, schema, quiet,
                 full);
    return quiet == 0;
}

static void expect_valid(const char *schema, const char *instance, bool want)
{
    if (valid(schema, instance) != want)
        fail_msg("%s against %s: expected %s", instance, schema, want ? "valid" : "invalid");
}

static void expect_error(const struct schema_error *e, const char *pointer, const char *keyword,
                         const char *message)
{
    if (strcmp(e->pointer, pointer) || strcmp(e->keyword, keyword) || strcmp(e->message, message))
        fail_msg("expected [%s] [%s] [%s]\n     got [%s] [%s] [%s]", pointer, keyword, message,
                 e->pointer, e->keyword, e->message);
}

static const char waterlevel_schema[] =
    "{\"type\":\"object\",\"required\":[\"time\",\"value\",\"unit\"],"
    "\"properties\":{\"time\":{\"type\":\"string\",\"format\":\"date-time\"},"
    "\"value\":{\"type\":\"number\",\"minimum\":0,\"maximum\":800},"
    "\"unit\":{\"enum\":[\"cm\"]},\"trend\":{\"enum\":[-1,0,1]},"
    "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
    "\"a/b~c\":{\"type\":\"integer\"}},"
    "\"additionalProperties\":false}";

static const char waterlevel_bad[] =
    "{\"time\":\"2026-13-01T00:00:00Z\",\"value\":900,\"tags\":[\"x\",3],"
    "\"email\":\"x@example.org\",\"a/b~c\":1.5,\"trend\":2}";

static void schema_error_pointers_and_messages(void **state)
{
    struct schema_registry *reg = schema_registry_new();
    struct schema *s = compile_text(reg, waterlevel_schema);
    struct schema_error e[ERRORS_MAX];
    int n = validate_text(s, waterlevel_bad, e, ERRORS_MAX);

    assert_int_equal(n, 7);
    expect_error(&e[0], "", "required", "required property \"unit\" is missing");
    expect_error(&e[1], "/time", "format",
                 "string \"2026-13-01T00:00:00Z\" is not a valid date-time");
    expect_error(&e[2], "/value", "maximum", "value 900 is above the maximum 800");
    expect_error(&e[3], "/tags/1", "type", "value 3 has type integer, expected string");
    expect_error(&e[4], "", "additionalProperties", "property \"email\" is not allowed");
    expect_error(&e[5], "/a~1b~0c", "type", "value 1.5 has type number, expected integer");
    expect_error(&e[6], "/trend", "enum", "value 2 is not one of -1, 0, 1");
    assert_int_equal(validate_text(s,
                                   "{\"time\":\"2026-11-26T06:00:00.123456789+01:00\","
                                   "\"value\":412.5,\"unit\":\"cm\",\"trend\":-1}",
                                   e, ERRORS_MAX),
                     0);
    schema_free(s);
    schema_registry_free(reg);
}

static void schema_more_messages(void **state)
{
    struct schema_registry *reg = schema_registry_new();
    struct schema *s =
        compile_text(reg, "{\"properties\":{"
                          "\"a\":{\"exclusiveMaximum\":10,\"multipleOf\":3},"
                          "\"b\":{\"minLength\":3,\"pattern\":\"^[a-z]+$\"},"
                          "\"c\":{\"minItems\":2,\"uniqueItems\":true,\"contains\":{\"const\":5}},"
                          "\"d\":{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":0}]},"
                          "\"e\":{\"not\":{\"type\":\"null\"}},"
                          "\"f\":{\"dependencies\":{\"x\":[\"y\"]},\"minProperties\":2},"
                          "\"g\":false,"
                          "\"h\":{\"const\":\"on\"},"
                          "\"i\":{\"items\":[true],\"additionalItems\":false}}}");
    struct schema_error e[ERRORS_MAX];
    int n = validate_text(s,
                          "{\"a\":10,\"b\":\"\\u00e4\\\"\",\"c\":[1,1.0],\"d\":1,\"e\":null,"
                          "\"f\":{\"x\":1},\"g\":0,\"h\":\"off\",\"i\":[1,2,3]}",
                          e, ERRORS_MAX);

    assert_int_equal(n, 13);
    expect_error(&e[0], "/a", "exclusiveMaximum", "value 10 is not below the exclusive maximum 10");
    expect_error(&e[1], "/a", "multipleOf", "value 10 is not a multiple of 3");
    expect_error(&e[2], "/b", "minLength",
                 "string \"\xc3\xa4\\\"\" is 2 characters long, shorter than the minimum length 3");
    expect_error(&e[3], "/b", "pattern",
                 "string \"\xc3\xa4\\\"\" does not match the pattern "
                 "\"^[a-z]+$\"");
    expect_error(&e[4], "/c", "uniqueItems", "items 0 and 1 are equal");
    expect_error(&e[5], "/c", "contains", "no item matches the contains schema");
    expect_error(&e[6], "/d", "oneOf",
                 "value matches more than one of the oneOf schemas (0 and 1)");
    expect_error(&e[7], "/e", "not", "value must not match the \"not\" schema");
    expect_error(&e[8], "/f", "minProperties", "object has 1 properties, fewer than the minimum 2");
    expect_error(&e[9], "/f", "dependencies", "property \"x\" requires property \"y\"");
    expect_error(&e[10], "/g", "false", "no value is allowed here (the schema is false)");
    expect_error(&e[11], "/h", "const", "value \"off\" is not the constant \"on\"");
    expect_error(&e[12], "/i", "additionalItems",
                 "array has 3 items, more than the 1 that items defines");
    schema_free(s);
    schema_registry_free(reg);
}

static void schema_max_errors(void **state)
{
    struct schema_registry *reg = schema_registry_new();
    struct schema *s = compile_text(reg, waterlevel_schema);
    struct schema_error e[3];

    memset(e, 0x5a, sizeof(e));
    assert_int_equal(validate_text(s, waterlevel_bad, e, 2), 2);
    expect_error(&e[0], "", "required", "required property \"unit\" is missing");
    expect_error(&e[1], "/time", "format",
                 "string \"2026-13-01T00:00:00Z\" is not a valid date-time");
    assert_int_equal((unsigned char)e[2].pointer[0], 0x5a); /* untouched */
    assert_int_equal(validate_text(s, waterlevel_bad, NULL, 0), 1);
    assert_int_equal(validate_text(s, waterlevel_bad, e, 1), 1);
    assert_int_equal(validate_text(s,
                                   "{\"time\":\"2026-11-26T06:00:00Z\",\"value\":1,"
                                   "\"unit\":\"cm\"}",
                                   NULL, 0),
                     0);
    schema_free(s);
    schema_registry_free(reg);
}

static void schema_long_pointer_is_cut(void **state)
{
    struct schema_registry *reg = schema_registry_new();
    struct schema *s = compile_text(reg, "{\"additionalProperties\":{\"$ref\":\"#\"},"
                                         "\"type\":\"object\"}");
    char key[101], text[2048];
    struct schema_error e[1];

    memset(key, 'k', 100);
    key[100] = '\0';
    snprintf(text, sizeof(text), "{\"%s\":{\"%s\":{\"%s\":{\"%s\":1}}}}", key, key, key, key);
    assert_int_equal(validate_text(s, text, e, 1), 1);
    assert_int_equal(strncmp(e[0].pointer, "/kkkk", 5), 0);
    assert_non_null(strstr(e[0].pointer, "/..."));
    assert_true(strlen(e[0].pointer) < SCHEMA_POINTER_MAX);
    schema_free(s);
    schema_registry_free(reg);
}

static void schema_compile_errors(void **state)
{
    expect_compile_error("{\"properties\":{\"a\":{\"pattern\":\"[a-\"}}}",
                         "#/properties/a: pattern: invalid regular expression \"[a-\"");
    expect_compile_error("{\"patternProperties\":{\"(\":true}}",
                         "#/patternProperties: invalid regular expression \"(\"");
    expect_compile_error("{\"properties\":{\"x\":{\"$ref\":\"other.json#/a\"}}}",
                         "#/properties/x: cannot resolve $ref \"other.json#/a\"");
    expect_compile_error("{\"items\":{\"$ref\":\"#/definitions/nope\"}}",
                         "#/items: cannot resolve $ref \"#/definitions/nope\"");
    expect_compile_error("{\"minimum\":\"1\"}", "#: minimum must be a number");
    expect_compile_error("{\"items\":{\"type\":\"strin\"}}", "#/items: type must be");
    expect_compile_error("{\"required\":\"a\"}", "#: required must be an array");
    expect_compile_error("{\"maxLength\":-1}", "#: maxLength must be a non-negative integer");
    expect_compile_error("{\"multipleOf\":0}", "#: multipleOf must be greater than 0");
    expect_compile_error("{\"properties\":{\"a\":3}}",
                         "#/properties/a: a schema must be an object or a boolean");
    expect_compile_error("{\"anyOf\":[]}", "#: anyOf must be a non-empty array of schemas");
    expect_compile_error("{\"$ref\":\"#\"}", "$ref cycle");
    expect_compile_error("{\"anyOf\":[{\"type\":\"null\"},{\"$ref\":\"#\"}]}", "$ref cycle");
    expect_compile_error("{\"definitions\":{\"a\":{\"$ref\":\"#/definitions/b\"},"
                         "\"b\":{\"not\":{\"$ref\":\"#/definitions/a\"}}}}",
                         "$ref cycle");
    expect_compile_error("{\"$ref\":\"http://example.org/x.json\"}",
                         "cannot resolve $ref \"http://example.org/x.json\"");
}

static void schema_numbers(void **state)
{
    expect_valid("{\"multipleOf\":0.0001}", "0.0075", true);
    expect_valid("{\"multipleOf\":0.01}", "19.99", true);
    expect_valid("{\"multipleOf\":0.1}", "0.3", true);
    expect_valid("{\"multipleOf\":0.1}", "0.35", false);
    expect_valid("{\"multipleOf\":0.123456789}", "1e308", false);
    expect_valid("{\"type\":\"integer\",\"multipleOf\":0.123456789}", "1e308", false);
    expect_valid("{\"multipleOf\":2}", "9007199254740993", false);
    expect_valid("{\"multipleOf\":2.0}", "9007199254740993", false);
    expect_valid("{\"multipleOf\":3}", "1e16", false);
    expect_valid("{\"type\":\"integer\"}", "1.0", true);
    expect_valid("{\"type\":\"integer\"}", "1.5", false);
    expect_valid("{\"const\":1}", "1.0", true);
    expect_valid("{\"enum\":[[1,{\"a\":2}]]}", "[1.0,{\"a\":2.0}]", true);
    expect_valid("{\"uniqueItems\":true}", "[1,1.0]", false);
    expect_valid("{\"uniqueItems\":true}", "[{\"a\":1,\"b\":2},{\"b\":2,\"a\":1.0}]", false);
    expect_valid("{\"uniqueItems\":true}", "[[1],[true]]", true);
    expect_valid("{\"maximum\":9223372036854775807}", "9223372036854775807", true);
    expect_valid("{\"maximum\":9223372036854775806}", "9223372036854775807", false);
    expect_valid("{\"minimum\":0.5}", "0", false);
    expect_valid("{\"maxItems\":2.0}", "[1,2,3]", false);
}

static void schema_strings_and_regexes(void **state)
{
    expect_valid("{\"maxLength\":2}", "\"\\u20ac\\u20ac\"", true);
    expect_valid("{\"minLength\":3}", "\"\\u20ac\\u20ac\"", false);
    expect_valid("{\"maxLength\":1}", "\"\\ud83d\\udc32\"", true); /* one code point */
    expect_valid("{\"pattern\":\"b\"}", "\"abc\"", true);          /* a search, not a match */
    expect_valid("{\"pattern\":\"^a$\"}", "\"a\\n\"", false);      /* $ is the very end */
    expect_valid("{\"pattern\":\"^\\\\s$\"}", "\"\\u00a0\"", true);
    expect_valid("{\"pattern\":\"^\\\\s$\"}", "\"\\ufeff\"", true);
    expect_valid("{\"pattern\":\"^\\\\S$\"}", "\"\\u2028\"", false);
    expect_valid("{\"pattern\":\"^[\\\\s]$\"}", "\"\\u3000\"", true);
    expect_valid("{\"pattern\":\"^\\\\d$\"}", "\"\\u0660\"", false); /* ASCII digits only */
    expect_valid("{\"pattern\":\"^\\\\u00e9$\"}", "\"\\u00e9\"", true);
    expect_valid("{\"pattern\":\"^.$\"}", "\"\\ud83d\\udc32\"", true);
    expect_valid("{\"pattern\":\"^[^]$\"}", "\"\\n\"", true);
    expect_valid("{\"pattern\":\"[]\"}", "\"a\"", false);
    expect_valid("{\"pattern\":\"^(a+)+$\"}", "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab\"", false);
    expect_valid("{\"patternProperties\":{\"^x-\":{\"type\":\"string\"}},"
                 "\"additionalProperties\":false}",
                 "{\"x-a\":\"1\",\"x-b\":\"2\"}", true);
    expect_valid("{\"propertyNames\":{\"maxLength\":3}}", "{\"abc\":1,\"abcd\":2}", false);
    expect_valid("{\"format\":\"email\"}", "\"\\\"joe bloggs\\\"@example.com\"", true);
    expect_valid("{\"format\":\"email\"}", "\"joe.bloggs@[IPv6:::1]\"", true);
    expect_valid("{\"format\":\"email\"}", "\"joe..bloggs@example.com\"", false);
    expect_valid("{\"format\":\"ipv4\"}", "\"087.10.0.1\"", false);
    expect_valid("{\"format\":\"ipv6\"}", "\"::ffff:192.168.0.1\"", true);
    expect_valid("{\"format\":\"ipv6\"}", "\"1:2:3:4:5:6:7:8:9\"", false);
    expect_valid("{\"format\":\"hostname\"}", "\"-bad.example\"", false);
    expect_valid("{\"format\":\"uri\"}", "\"urn:ietf:rfc:3986\"", true);
    expect_valid("{\"format\":\"uri\"}", "\"http://exa mple.org/\"", false);
    expect_valid("{\"format\":\"date\"}", "\"2024-02-30\"", false);
    expect_valid("{\"format\":\"time\"}", "\"06:00:00\"", false);
    expect_valid("{\"format\":\"no-such-format\"}", "\"anything\"", true);
    expect_valid("{\"format\":\"date-time\"}", "12", true); /* formats apply to strings */
}

/* $id and $ref cases of the newer JSON-Schema-Test-Suite that Debian's lacks. */
static void schema_identifiers(void **state)
{
    static const char lii[] = "{\"allOf\":[{\"$ref\":\"#foo\"}],"
                              "\"definitions\":{\"A\":{\"$id\":\"#foo\",\"type\":\"integer\"}}}";
    static const char lii_abs[] =
        "{\"allOf\":[{\"$ref\":\"http://localhost:1234/bar#foo\"}],\"definitions\":{\"A\":"
        "{\"$id\":\"http://localhost:1234/bar#foo\",\"type\":\"integer\"}}}";
    static const char lii_nested[] =
        "{\"$id\":\"http://localhost:1234/root\",\"allOf\":[{\"$ref\":"
        "\"http://localhost:1234/nested.json#foo\"}],\"definitions\":{\"A\":{\"$id\":"
        "\"nested.json\",\"definitions\":{\"B\":{\"$id\":\"#foo\",\"type\":\"integer\"}}}}}";
    static const char sibling_id[] =
        "{\"$id\":\"http://localhost:1234/sibling_id/base/\",\"definitions\":{\"foo\":{\"$id\":"
        "\"http://localhost:1234/sibling_id/foo.json\",\"type\":\"string\"},\"base_foo\":"
        "{\"$id\":\"foo.json\",\"type\":\"number\"}},\"allOf\":[{\"$id\":"
        "\"http://localhost:1234/sibling_id/\",\"$ref\":\"foo.json\"}]}";
    static const char id_in_enum[] =
        "{\"definitions\":{\"id_in_enum\":{\"enum\":[{\"$id\":\"https://localhost:1234/my.json\","
        "\"type\":\"null\"}]},\"real\":{\"$id\":\"https://localhost:1234/my.json\",\"type\":"
        "\"string\"}},\"anyOf\":[{\"$ref\":\"#/definitions/id_in_enum\"},{\"$ref\":"
        "\"https://localhost:1234/my.json\"}]}";
    static const char naive[] = "{\"definitions\":{\"a_string\":{\"type\":\"string\"}},"
                                "\"enum\":[{\"$ref\":\"#/definitions/a_string\"}]}";
    static const char urn[] =
        "{\"$id\":\"urn:uuid:deadbeef-1234-ffff-ffff-4321feebdaed\",\"properties\":{\"foo\":"
        "{\"$ref\":\"#/definitions/bar\"}},\"definitions\":{\"bar\":{\"type\":\"string\"}}}";
    static const char quote[] = "{\"properties\":{\"foo\\\"bar\":{\"$ref\":"
                                "\"#/definitions/foo%22bar\"}},\"definitions\":{\"foo\\\"bar\":"
                                "{\"type\":\"number\"}}}";
    static const char dotted[] =
        "{\"$id\":\"http://example.org/a/b/c.json\",\"definitions\":{\"x\":{\"$id\":"
        "\"../d/e.json\",\"type\":\"boolean\"}},\"properties\":{\"p\":{\"$ref\":"
        "\"http://example.org/a/d/e.json\"},\"q\":{\"$ref\":\"./../d/./e.json#\"}}}";

    expect_valid(lii, "1", true);
    expect_valid(lii, "\"a\"", false);
    expect_valid(lii_abs, "1", true);
    expect_valid(lii_abs, "\"a\"", false);
    expect_valid(lii_nested, "1", true);
    expect_valid(lii_nested, "\"a\"", false);
    expect_valid(sibling_id, "\"a\"", false);
    expect_valid(sibling_id, "1", true);
    expect_valid(id_in_enum, "{\"$id\":\"https://localhost:1234/my.json\",\"type\":\"null\"}",
                 true);
    expect_valid(id_in_enum, "\"a string\"", true);
    expect_valid(id_in_enum, "1", false);
    expect_valid(naive, "\"this is a string\"", false);
    expect_valid(naive, "{\"$ref\":\"#/definitions/a_string\"}", true);
    expect_valid(urn, "{\"foo\":\"bar\"}", true);
    expect_valid(urn, "{\"foo\":12}", false);
    expect_valid(quote, "{\"foo\\\"bar\":1}", true);
    expect_valid(quote, "{\"foo\\\"bar\":\"1\"}", false);
    expect_valid(dotted, "{\"p\":true,\"q\":false}", true);
    expect_valid(dotted, "{\"q\":1}", false);
}

/* Inputs the fuzzers found trouble with. */
static void schema_fuzz_regressions(void **state)
{
    /* empty "properties": sorting nothing passed NULL to qsort */
    static const char empty_props[] = "{\"properties\":{},\"patternProperties\":{\"^v\":{}},"
                                      "\"additionalProperties\":false}";

    expect_valid(empty_props, "{\"v\":1}", true);
    expect_valid(empty_props, "{\"w\":1}", false);
}

/* A document added to the registry by URI, referenced by a relative $ref. */
static void schema_registry_documents(void **state)
{
    struct schema_registry *reg = schema_registry_new();
    json_t *units = json_loads("{\"definitions\":{\"cm\":{\"const\":\"cm\"}}}", 0, NULL);
    json_t *doc = json_loads(
        "{\"properties\":{\"unit\":{\"$ref\":\"units.json#/definitions/cm\"}}}", 0, NULL);
    char err[256] = "";
    struct schema *s;

    assert_int_equal(schema_registry_add(reg, "http://rheinhub.example/units.json", units), 0);
    assert_int_equal(schema_registry_add(reg, "http://rheinhub.example/units.json", units),
                     -EEXIST);
    json_decref(units); /* the registry holds its own reference */
    s = schema_compile(reg, doc, "http://rheinhub.example/event.json", err, sizeof(err));
    json_decref(doc);
    if (!s)
        fail_msg("%s", err);
    assert_int_equal(validate_text(s, "{\"unit\":\"cm\"}", NULL, 0), 0);
    assert_int_equal(validate_text(s, "{\"unit\":\"m\"}", NULL, 0), 1);
    schema_free(s);
    schema_registry_free(reg);
}

static json_t *nested(const char *key, int depth)
{
    json_t *v = json_integer(1);

    for (int i = 0; i < depth; i++) {
        json_t *o = json_object();

        json_object_set_new(o, key, v);
        v = o;
    }
    return v;
}

static void schema_depth_limit(void **state)
{
    struct schema_registry *reg = schema_registry_new();
    struct schema *s = compile_text(reg, "{\"type\":[\"object\",\"integer\"],"
                                         "\"properties\":{\"a\":{\"$ref\":\"#\"}}}");
    struct schema_error e[4];
    json_t *ok = nested("a", 100), *deep = nested("a", 1000);

    assert_int_equal(schema_validate(s, ok, e, 4), 0);
    assert_int_equal(schema_validate(s, deep, NULL, 0), 1);
    assert_int_equal(schema_validate(s, deep, e, 4), 1);
    assert_string_equal(e[0].keyword, "$ref");
    assert_non_null(strstr(e[0].message, "deeper than 256"));
    json_decref(ok);
    json_decref(deep);
    schema_free(s);
    schema_registry_free(reg);
}

/* Doubling work per level through anyOf must end at the step limit, invalid. */
static void schema_step_limit(void **state)
{
    struct schema_registry *reg = schema_registry_new();
    struct schema *s = compile_text(reg, "{\"anyOf\":[{\"items\":{\"$ref\":\"#\"},\"contains\":"
                                         "{\"const\":\"x\"}},{\"items\":{\"$ref\":\"#\"}}]}");
    json_t *v = json_integer(1);
    struct schema_error e[2];

    for (int i = 0; i < 60; i++) {
        json_t *a = json_array();

        json_array_append_new(a, v);
        v = a;
    }
    assert_int_equal(schema_validate(s, v, e, 2), 1);
    assert_non_null(strstr(e[0].message, "gave up after"));
    assert_int_equal(schema_validate(s, v, NULL, 0), 1);
    json_decref(v);
    schema_free(s);
    schema_registry_free(reg);
}

/* Run under AddressSanitizer, a leak in any of these paths fails the test. */
static void schema_repeated_compile_does_not_leak(void **state)
{
    struct schema_error e[ERRORS_MAX];

    for (int i = 0; i < 300; i++) {
        struct schema_registry *reg = schema_registry_new();
        struct schema *s = compile_text(reg, waterlevel_schema);
        struct schema *t =
            compile_text(reg, "{\"$id\":\"http://x.example/r\",\"definitions\":"
                              "{\"n\":{\"$id\":\"#n\",\"patternProperties\":"
                              "{\"^p\":{\"$ref\":\"r\"}}}},\"allOf\":[{\"$ref\":\"#n\"}]}");

        assert_int_equal(validate_text(s, waterlevel_bad, e, ERRORS_MAX), 7);
        assert_int_equal(validate_text(t, "{\"p\":{\"p\":{}}}", e, ERRORS_MAX), 0);
        schema_free(s);
        schema_free(t);
        expect_compile_error("{\"properties\":{\"a\":{\"pattern\":\"(\"}}}", "pattern");
        expect_compile_error("{\"$ref\":\"#/definitions/a\",\"definitions\":{\"a\":"
                             "{\"$ref\":\"#\"}}}",
                             "$ref cycle");
        schema_registry_free(reg);
    }
}

/* ---- rheinhub validate -------------------------------------------------------------- */

static char tmpdir[64];

static void write_file(const char *name, const char *text)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    assert_non_null(f = fopen(path, "w"));
    fputs(text, f);
    fclose(f);
}

/* Runs validate_main on the arguments (file names relative to tmpdir), capturing stdout. */
static int run_validate(char *out, size_t size, int argc, ...)
{
    char *argv[8], paths[8][256];
    char capture[128];
    va_list ap;
    int fd, saved, rc;
    ssize_t n;

    argv[0] = (char *)"validate";
    va_start(ap, argc);
    for (int i = 1; i < argc; i++) {
        snprintf(paths[i], sizeof(paths[i]), "%s/%s", tmpdir, va_arg(ap, const char *));
        argv[i] = paths[i];
    }
    va_end(ap);
    snprintf(capture, sizeof(capture), "%s/stdout", tmpdir);
    fflush(stdout);
    assert_true((fd = open(capture, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0);
    saved = dup(STDOUT_FILENO);
    dup2(fd, STDOUT_FILENO);
    close(fd);
    rc = validate_main(argc, argv);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    assert_true((fd = open(capture, O_RDONLY)) >= 0);
    n = read(fd, out, size - 1);
    close(fd);
    out[n > 0 ? n : 0] = '\0';
    return rc;
}

static int setup_tmpdir(void **state)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/rheinhub-test-schema-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
    static const char *const names[] = {"event.schema.json", "units.json",  "good.json",
                                        "bad.json",          "broken.json", "stdout",
                                        "loop.schema.json"};
    char path[256];

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    return rmdir(tmpdir);
}

static void schema_validate_command(void **state)
{
    char out[4096];

    write_file("units.json", "{\"definitions\":{\"cm\":{\"const\":\"cm\"}}}");
    write_file("event.schema.json",
               "{\"type\":\"object\",\"required\":[\"value\",\"unit\"],\"properties\":{"
               "\"value\":{\"maximum\":800},\"unit\":{\"$ref\":\"units.json#/definitions/cm\"}}}");
    write_file("good.json", "{\"value\":412,\"unit\":\"cm\"}");
    write_file("bad.json", "{\"value\":900,\"unit\":\"m\"}");
    write_file("broken.json", "{\"value\":");
    write_file("loop.schema.json", "{\"$ref\":\"#\"}");

    assert_int_equal(run_validate(out, sizeof(out), 3, "event.schema.json", "good.json"), 0);
    assert_non_null(strstr(out, "good.json: valid\n"));

    assert_int_equal(
        run_validate(out, sizeof(out), 4, "event.schema.json", "good.json", "bad.json"), 1);
    assert_non_null(strstr(out, "good.json: valid\n"));
    assert_non_null(strstr(out, "bad.json: invalid\n"
                                "  /value: maximum: value 900 is above the maximum 800\n"
                                "  /unit: const: value \"m\" is not the constant \"cm\"\n"));

    assert_int_equal(
        run_validate(out, sizeof(out), 4, "event.schema.json", "bad.json", "broken.json"), 2);
    assert_int_equal(run_validate(out, sizeof(out), 3, "event.schema.json", "missing.json"), 2);
    assert_int_equal(run_validate(out, sizeof(out), 3, "broken.json", "good.json"), 2);
    assert_int_equal(run_validate(out, sizeof(out), 3, "loop.schema.json", "good.json"), 2);
    assert_int_equal(run_validate(out, sizeof(out), 1), 2);
}

/* The draft-07 meta-schema is built into every registry: no file, no network. */
static void schema_builtin_metaschema(void **state)
{
    static const char *const refs[] = {
        "{\"$ref\": \"http://json-schema.org/draft-07/schema#\"}",
        "{\"$ref\": \"http://json-schema.org/draft-07/schema\"}",
        "{\"properties\": {\"s\": {\"$ref\": \"http://json-schema.org/draft-07/schema#\"}}}",
    };

    (void)state;
    expect_valid(refs[0], "{\"type\": \"string\", \"minLength\": 1}", true);
    expect_valid(refs[0], "{\"type\": 12}", false);
    expect_valid(refs[0], "{\"minLength\": -1}", false);
    expect_valid(refs[1], "{\"definitions\": {\"x\": {\"type\": \"integer\"}}}", true);
    expect_valid(refs[1], "{\"definitions\": {\"x\": {\"type\": \"nothing\"}}}", false);
    expect_valid(refs[2], "{\"s\": true}", true);
    expect_valid(refs[2], "{\"s\": {\"required\": \"no\"}}", false);
    /* Other drafts are not built in. */
    expect_compile_error("{\"$ref\": \"http://json-schema.org/draft-04/schema#\"}", "resolve");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(schema_error_pointers_and_messages),
        cmocka_unit_test(schema_more_messages),
        cmocka_unit_test(schema_max_errors),
        cmocka_unit_test(schema_long_pointer_is_cut),
        cmocka_unit_test(schema_compile_errors),
        cmocka_unit_test(schema_builtin_metaschema),
        cmocka_unit_test(schema_numbers),
        cmocka_unit_test(schema_strings_and_regexes),
        cmocka_unit_test(schema_identifiers),
        cmocka_unit_test(schema_fuzz_regressions),
        cmocka_unit_test(schema_registry_documents),
        cmocka_unit_test(schema_depth_limit),
        cmocka_unit_test(schema_step_limit),
        cmocka_unit_test(schema_repeated_compile_does_not_leak),
        cmocka_unit_test_setup_teardown(schema_validate_command, setup_tmpdir, remove_tmpdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
