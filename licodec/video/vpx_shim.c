/* A thin C layer over libvpx's VP9 encoder, loaded through ctypes (licodec/video/libvpx.py).
 *
 * libvpx's configuration struct is large and version-dependent; letting the compiler lay it
 * out against the installed headers is what keeps the Python side independent of them.
 * Everything here is plumbing: the rate-control decisions live in Python.
 */
#include <stdlib.h>
#include <string.h>
#include <vpx/vp8cx.h>
#include <vpx/vpx_encoder.h>

typedef struct {
  vpx_codec_ctx_t codec;
  vpx_codec_enc_cfg_t config;
  vpx_image_t image;
  vpx_codec_iter_t iterator;
  int width, height;
} lv_encoder;

const char *lv_version(void) { return vpx_codec_version_str(); }

int lv_frame_stats_size(void) { return (int)sizeof(vpx_rc_frame_stats_t); }

static void copy_error(char *error, int size, const char *message) {
  if (error && size > 0) {
    strncpy(error, message ? message : "unknown libvpx error", (size_t)size - 1);
    error[size - 1] = 0;
  }
}

/* pass: 0 one pass, 1 first pass (statistics only), 2 last pass (needs the first pass's statistics) */
lv_encoder *lv_open(int width, int height, int fps_num, int fps_den, int kbps, int pass, const void *stats, int stats_size,
                    int threads, int cpu_used, vpx_rc_funcs_t *rate_control, char *error, int error_size) {
  vpx_codec_iface_t *iface = vpx_codec_vp9_cx();
  lv_encoder *e = calloc(1, sizeof *e);
  if (!e) {
    copy_error(error, error_size, "out of memory");
    return NULL;
  }
  if (vpx_codec_enc_config_default(iface, &e->config, 0) != VPX_CODEC_OK) {
    copy_error(error, error_size, "libvpx has no VP9 encoder configuration");
    free(e);
    return NULL;
  }
  e->width = width;
  e->height = height;
  e->config.g_w = (unsigned)width;
  e->config.g_h = (unsigned)height;
  e->config.g_timebase.num = fps_den;
  e->config.g_timebase.den = fps_num;
  e->config.g_threads = (unsigned)threads;
  e->config.g_lag_in_frames = 25;
  e->config.rc_end_usage = VPX_VBR;
  e->config.rc_target_bitrate = (unsigned)kbps;
  e->config.g_pass = pass == 1 ? VPX_RC_FIRST_PASS : pass == 2 ? VPX_RC_LAST_PASS : VPX_RC_ONE_PASS;
  if (pass == 2) {
    e->config.rc_twopass_stats_in.buf = (void *)stats;
    e->config.rc_twopass_stats_in.sz = (size_t)stats_size;
  }
  if (vpx_codec_enc_init(&e->codec, iface, &e->config, 0) != VPX_CODEC_OK) {
    const char *detail = vpx_codec_error_detail(&e->codec);
    copy_error(error, error_size, detail ? detail : vpx_codec_error(&e->codec));
    free(e);
    return NULL;
  }
  vpx_codec_control(&e->codec, VP8E_SET_CPUUSED, cpu_used);
  if (rate_control && vpx_codec_control(&e->codec, VP9E_SET_EXTERNAL_RATE_CONTROL, rate_control) != VPX_CODEC_OK) {
    copy_error(error, error_size, "this libvpx refuses an external rate control");
    vpx_codec_destroy(&e->codec);
    free(e);
    return NULL;
  }
  return e;
}

/* Encode one I420 frame (planes packed: Y, then U, then V, chroma of (w+1)/2 x (h+1)/2); NULL flushes. */
int lv_encode(lv_encoder *e, const unsigned char *i420, long long pts) {
  e->iterator = NULL;
  if (!i420) return vpx_codec_encode(&e->codec, NULL, -1, 1, 0, VPX_DL_GOOD_QUALITY);
  vpx_img_wrap(&e->image, VPX_IMG_FMT_I420, (unsigned)e->width, (unsigned)e->height, 1, (unsigned char *)i420);
  return vpx_codec_encode(&e->codec, &e->image, pts, 1, 0, VPX_DL_GOOD_QUALITY);
}

/* The next packet of the last lv_encode: 1 a frame, 2 first-pass statistics, 0 none left. */
int lv_packet(lv_encoder *e, const void **data, int *size, long long *pts, int *keyframe) {
  const vpx_codec_cx_pkt_t *packet;
  while ((packet = vpx_codec_get_cx_data(&e->codec, &e->iterator)) != NULL) {
    if (packet->kind == VPX_CODEC_CX_FRAME_PKT) {
      *data = packet->data.frame.buf;
      *size = (int)packet->data.frame.sz;
      *pts = packet->data.frame.pts;
      *keyframe = (packet->data.frame.flags & VPX_FRAME_IS_KEY) != 0;
      return 1;
    }
    if (packet->kind == VPX_CODEC_STATS_PKT) {
      *data = packet->data.twopass_stats.buf;
      *size = (int)packet->data.twopass_stats.sz;
      return 2;
    }
  }
  return 0;
}

const char *lv_error(lv_encoder *e) {
  const char *detail = vpx_codec_error_detail(&e->codec);
  return detail ? detail : vpx_codec_error(&e->codec);
}

void lv_close(lv_encoder *e) {
  vpx_codec_destroy(&e->codec);
  free(e);
}
