/* provider.c - the table of video-generation providers: adding one is a
 * new provider-NAME.c and one line here. */
#include "config.h"
#include "provider.h"

#include <stdlib.h>
#include <string.h>

static const provider *const providers[] = {
    &provider_kling,
    &provider_fal,
};

const provider *provider_find(const char *name)
{
    if (!name)
        return providers[0];
    for (size_t i = 0; i < VB_ARRAY_LEN(providers); i++)
        if (strcmp(providers[i]->name, name) == 0)
            return providers[i];
    return NULL;
}

bool provider_nothing_created(int verdict)
{
    return verdict != PV_OK && verdict != PV_DUPLICATE && verdict != PV_TRANSIENT &&
           verdict != PV_NOT_FOUND;
}

void provider_reply_clear(provider_reply *r)
{
    free(r->request_id);
    free(r->task_id);
    free(r->external_id);
    free(r->status_msg);
    free(r->video_url);
    free(r->video_id);
    memset(r, 0, sizeof *r);
    r->queue_position = -1;
}

char *provider_names(void)
{
    size_t n = 1;
    for (size_t i = 0; i < VB_ARRAY_LEN(providers); i++)
        n += strlen(providers[i]->name) + 2;
    char *s = vb_xcalloc(n, 1);
    for (size_t i = 0; i < VB_ARRAY_LEN(providers); i++) {
        if (i)
            strcat(s, ", ");
        strcat(s, providers[i]->name);
    }
    return s;
}

char *provider_base_url(const char *url)
{
    size_t len = strlen(url);
    while (len > 0 && url[len - 1] == '/')
        len--;
    return vb_xstrndup(url, len);
}
