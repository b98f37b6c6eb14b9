// libpng 1.6 (Debian: libpng-dev), with the two calls Swift needs wrapped: libpng reports errors by longjmp,
// which Swift cannot catch, so the setjmp lives here and each wrapper returns 0 or an error message.
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char message[256];
} cpng_error;

static inline void cpng_error_fn(png_structp png, png_const_charp msg) {
    cpng_error *error = (cpng_error *)png_get_error_ptr(png);
    if (error) {
        snprintf(error->message, sizeof error->message, "%s", msg);
    }
    png_longjmp(png, 1);
}

static inline void cpng_warning_fn(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

/// Writes an 8-bit RGB image (rows of width*3 bytes, top first) with text chunks (key/value pairs; values that are
/// not plain ASCII go into iTXt as UTF-8, the others into tEXt). Returns 0, or -1 with `error` filled.
static inline int cpng_write_rgb8(const char *path, const unsigned char *pixels, unsigned width, unsigned height,
                                  const char *const *keys, const char *const *values, int text_count,
                                  cpng_error *error) {
    error->message[0] = 0;
    FILE *file = fopen(path, "wb");
    if (!file) {
        snprintf(error->message, sizeof error->message, "cannot open for writing");
        return -1;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, error, cpng_error_fn, cpng_warning_fn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    png_textp text = (png_textp)calloc(text_count > 0 ? (size_t)text_count : 1, sizeof(png_text));
    if (!png || !info || !text) {
        snprintf(error->message, sizeof error->message, "out of memory");
        free(text);
        png_destroy_write_struct(&png, &info);
        fclose(file);
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        free(text);
        png_destroy_write_struct(&png, &info);
        fclose(file);
        return -1;
    }
    png_init_io(png, file);
    png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    for (int i = 0; i < text_count; i++) {
        int ascii = 1;
        for (const unsigned char *c = (const unsigned char *)values[i]; *c; c++) {
            if (*c >= 0x80) { ascii = 0; break; }
        }
        text[i].compression = ascii ? PNG_TEXT_COMPRESSION_NONE : PNG_ITXT_COMPRESSION_NONE;
        text[i].key = (png_charp)keys[i];
        text[i].text = (png_charp)values[i];
        text[i].text_length = ascii ? strlen(values[i]) : 0;
        text[i].itxt_length = ascii ? 0 : strlen(values[i]);
        text[i].lang = NULL;
        text[i].lang_key = NULL;
    }
    if (text_count > 0) {
        png_set_text(png, info, text, text_count);
    }
    png_write_info(png, info);
    for (unsigned y = 0; y < height; y++) {
        png_write_row(png, (png_const_bytep)(pixels + (size_t)y * width * 3));
    }
    png_write_end(png, info);
    free(text);
    png_destroy_write_struct(&png, &info);
    if (fclose(file) != 0) {
        snprintf(error->message, sizeof error->message, "cannot finish writing");
        return -1;
    }
    return 0;
}

/// What `cpng_read_rgb8` returns: the pixels (malloc'ed, caller frees with `cpng_free`), size and the text chunks.
typedef struct {
    unsigned char *pixels;
    unsigned width, height;
    int text_count;
    char **keys;
    char **values;
} cpng_image;

static inline void cpng_free(cpng_image *image) {
    free(image->pixels);
    for (int i = 0; i < image->text_count; i++) {
        free(image->keys[i]);
        free(image->values[i]);
    }
    free(image->keys);
    free(image->values);
    memset(image, 0, sizeof *image);
}

/// Reads a PNG as 8-bit RGB (any colour type is converted) with its text chunks. Returns 0, or -1 with `error`.
static inline int cpng_read_rgb8(const char *path, cpng_image *image, cpng_error *error) {
    memset(image, 0, sizeof *image);
    error->message[0] = 0;
    FILE *file = fopen(path, "rb");
    if (!file) {
        snprintf(error->message, sizeof error->message, "cannot open for reading");
        return -1;
    }
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, error, cpng_error_fn, cpng_warning_fn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_read_struct(&png, &info, NULL);
        fclose(file);
        snprintf(error->message, sizeof error->message, "out of memory");
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        fclose(file);
        cpng_free(image);
        return -1;
    }
    png_init_io(png, file);
    png_read_info(png, info);
    png_set_expand(png);
    png_set_strip_16(png);
    png_set_strip_alpha(png);
    png_set_gray_to_rgb(png);
    png_read_update_info(png, info);
    image->width = png_get_image_width(png, info);
    image->height = png_get_image_height(png, info);
    size_t stride = png_get_rowbytes(png, info);
    image->pixels = (unsigned char *)malloc(stride * image->height);
    if (!image->pixels) {
        png_error(png, "out of memory");
    }
    for (unsigned y = 0; y < image->height; y++) {
        png_read_row(png, image->pixels + (size_t)y * stride, NULL);
    }
    png_read_end(png, info);
    png_textp text = NULL;
    int count = 0;
    png_get_text(png, info, &text, &count);
    image->keys = (char **)calloc(count > 0 ? (size_t)count : 1, sizeof(char *));
    image->values = (char **)calloc(count > 0 ? (size_t)count : 1, sizeof(char *));
    for (int i = 0; i < count; i++) {
        image->keys[i] = strdup(text[i].key);
        size_t length = text[i].compression > 0 ? text[i].itxt_length : text[i].text_length;
        image->values[i] = (char *)malloc(length + 1);
        memcpy(image->values[i], text[i].text, length);
        image->values[i][length] = 0;
        image->text_count = i + 1;
    }
    png_destroy_read_struct(&png, &info, NULL);
    fclose(file);
    return 0;
}
