/* thread.c: thread naming for the pool's and the object pool's threads.
 *
 * pthread_setname_np is a GNU extension (Linux limits names to 15 bytes), so it lives behind
 * the OS facade.
 */
#include <pthread.h>
#include <string.h>

#include "os/os.h"

void rapt__os_thread_name(const char *name)
{
    char buf[16];
    size_t n = strlen(name);
    if (n > sizeof(buf) - 1)
        n = sizeof(buf) - 1;
    memcpy(buf, name, n);
    buf[n] = '\0';
    (void)pthread_setname_np(pthread_self(), buf);
}
