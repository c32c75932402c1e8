// sharp, configured once for the process. Import sharp from here so the settings apply before first use.
//
// Throughput comes from libuv's threadpool, not from libvips threads: every sharp call runs on one pool
// thread, so UV_THREADPOOL_SIZE (default 4, set in the environment before start; it is shared with
// dns.lookup, fs and crypto) bounds how many images are processed at once. Size it to the CPU count.
import sharp from 'sharp'

// One libvips thread per image. Measured on 2 cores, 16 concurrent 12 MP photos (decode, orient, resize,
// encode): concurrency 1 took 2.1 s, concurrency 2 took 5.1 s (threads fight for the cores); a single
// photo took the same ~200 ms either way, since shrink-on-load JPEG decoding is single-threaded.
sharp.concurrency(1)

// Every request brings a different image, so libvips' operation cache never hits; it would only hold
// up to 50 MB of decoded pixels. Measured: no throughput difference with it on.
sharp.cache(false)

export { sharp }
