/*
 * The 2009 segmenter's way of sending index messages (write_index_file in live_upload):
 * for each message, connect, send() it without a line end, and close() without ever reading.
 * If the uploader wrote anything that is still unread at close(), the kernel answers the
 * uploader with RST instead of FIN: that is the case the tests need to reproduce exactly.
 *
 *   live-upload HOST PORT DELAY_MS < messages   (one message per stdin line)
 *
 * DELAY_MS sleeps between send() and close(), as a slow machine would. Prints how many
 * messages were sent; exits 1 when a connect or send fails.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: live-upload HOST PORT DELAY_MS < messages\n");
    return 2;
  }
  struct sockaddr_in address;
  memset(&address, 0, sizeof(address));
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = inet_addr(argv[1]);
  address.sin_port = htons((unsigned short)atoi(argv[2]));
  useconds_t delay = (useconds_t)atoi(argv[3]) * 1000;

  char line[10 * 1024];
  int sent = 0;
  while (fgets(line, sizeof(line), stdin)) {
    size_t len = strcspn(line, "\r\n");
    int sock = socket(PF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (sock < 0) { perror("socket"); return 1; }
    if (connect(sock, (struct sockaddr *)&address, sizeof(address)) < 0) { perror("connect"); return 1; }
    if (send(sock, line, len, 0) != (ssize_t)len) { perror("send"); return 1; }
    if (delay) usleep(delay);
    close(sock);
    sent++;
  }
  printf("%d\n", sent);
  return 0;
}
