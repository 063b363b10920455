/* freeport.c — prints a loopback port that is free right now: `freeport tcp|udp [COUNT]`.
 * Tests use it to give every process its own ports. All COUNT ports are held open until
 * all are chosen, so they are distinct. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
    int type = argc > 1 && strcmp(argv[1], "udp") == 0 ? SOCK_DGRAM : SOCK_STREAM;
    int count = argc > 2 ? atoi(argv[2]) : 1;
    if (count < 1 || count > 64) {
        fprintf(stderr, "usage: freeport tcp|udp [COUNT<=64]\n");
        return 2;
    }
    int fds[64];
    for (int i = 0; i < count; i++) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(a);
        fds[i] = socket(AF_INET, type, 0);
        if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&a, sizeof(a)) != 0 ||
            getsockname(fds[i], (struct sockaddr *)&a, &len) != 0) {
            perror("freeport");
            return 1;
        }
        printf("%u\n", ntohs(a.sin_port));
    }
    for (int i = 0; i < count; i++)
        close(fds[i]);
    return 0;
}
