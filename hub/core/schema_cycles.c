// SPDX-License-Identifier: MIT
/*
 * The compiler's last step: a schema that would apply itself to the same instance
 * without end ({"$ref": "#"}, {"anyOf": [{"$ref": "#"}]}, ...) is rejected. The graph
 * of in-place keywords ($ref, allOf, anyOf, oneOf, not, if, then, else, schema
 * dependencies) must be acyclic; cycles through properties, items and the other
 * keywords that descend into the instance are fine: the instance is finite.
 */
#include <stdlib.h>

#include "schema_compiler.h"

/* The i-th in-place subschema of node (applied to the same instance), or NULL. */
static struct schema_node *in_place(const struct schema_node *node, size_t i)
{
    const struct schema_node_list *lists[] = {&node->all_of, &node->any_of, &node->one_of};
    /* then and else apply only with if */
    struct schema_node *const singles[] = {node->ref, node->not_schema, node->if_schema,
                                           node->if_schema ? node->then_schema : NULL,
                                           node->if_schema ? node->else_schema : NULL};

    for (size_t k = 0; k < COUNT(lists); k++) {
        if (i < lists[k]->n)
            return lists[k]->v[i];
        i -= lists[k]->n;
    }
    for (size_t k = 0; k < COUNT(singles); k++) {
        if (singles[k] && i-- == 0)
            return singles[k];
    }
    for (size_t k = 0; k < node->n_deps; k++) {
        if (node->deps[k].node && i-- == 0)
            return node->deps[k].node;
    }
    return NULL;
}

/*
 * Rejects a cycle of in-place subschemas: a schema that applies itself to the same
 * value without end. Depth-first search with an explicit stack. Returns 0 or -1.
 */
int schema_check_cycles(struct compiler *c)
{
    struct frame {
        const struct schema_node *node;
        size_t next;
    } *stack = malloc(c->s->n_nodes * sizeof(*stack));
    unsigned char *color = calloc(c->s->n_nodes, 1); /* 0 new, 1 on the stack, 2 done */
    int rc = 0;

    if (!stack || !color) {
        schema_fail_nomem(c);
        rc = -1;
    }
    for (size_t r = 0; rc == 0 && r < c->s->n_nodes; r++) {
        size_t top = 0;

        if (color[r])
            continue;
        stack[0] = (struct frame){c->s->nodes[r], 0};
        color[r] = 1;
        for (top = 1; top > 0;) {
            struct frame *f = &stack[top - 1];
            struct schema_node *next = in_place(f->node, f->next++);

            if (!next) {
                color[f->node->index] = 2;
                top--;
            } else if (color[next->index] == 1) {
                schema_fail(c, next->where,
                     "$ref cycle: this schema is applied to the same value "
                     "again through %s, without end",
                     f->node->where);
                rc = -1;
                break;
            } else if (color[next->index] == 0) {
                color[next->index] = 1;
                stack[top++] = (struct frame){next, 0};
            }
        }
    }
    free(stack);
    free(color);
    return rc;
}