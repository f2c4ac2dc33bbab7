/* probe-floor.c - the floor for probing: what any program pays to open
 * each file with libavformat (avformat_open_input, nothing more), or with
 * --info what avformat_find_stream_info adds (what ffprobe runs).
 * Reads one path per line on stdin, as bench/probe.sh feeds it.
 *   cc -O2 -o probe-floor probe-floor.c $(pkg-config --cflags --libs libavformat libavutil)
 */
#include <libavformat/avformat.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    int info = argc > 1 && strcmp(argv[1], "--info") == 0;
    char line[4096];
    int bad = 0;
    av_log_set_level(AV_LOG_QUIET);
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = 0;
        if (!*line)
            continue;
        AVFormatContext *fc = NULL;
        if (avformat_open_input(&fc, line, NULL, NULL) < 0) {
            bad++;
            continue;
        }
        if (info && avformat_find_stream_info(fc, NULL) < 0)
            bad++;
        avformat_close_input(&fc);
    }
    if (bad)
        fprintf(stderr, "probe-floor: %d files failed\n", bad);
    return bad ? 1 : 0;
}
