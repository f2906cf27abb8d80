/**
 * `Conv2DBackpropFilter` for the tfjs wasm backend, which ships the forward convolution and the
 * input gradient but not the filter gradient (so `model.fit` on any Conv2D model fails there).
 *
 * dW[kh, kw, ci, co] = sum over (b, oh, ow) of x[b, oh*sh + kh - padTop, ow*sw + kw - padLeft, ci]
 * * dy[b, oh, ow, co]. We write the input patches as an im2col matrix P of shape [M, K]
 * (M = batch*outH*outW rows, K = kh*kw*inC columns in filter order) and let the backend's own
 * `BatchMatMul` (XNNPACK, SIMD) compute P^T * dy, which is [K, outC] = the filter layout.
 * NHWC only, dilation 1 (tfjs never asks for a dilated filter gradient).
 */
import * as tf from '@tensorflow/tfjs';

interface WasmTensorData {
  id: number;
}
/** The parts of tfjs-backend-wasm's BackendWasm this kernel uses. */
interface WasmBackendLike {
  dataIdMap: { get(dataId: object): WasmTensorData | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
  disposeData(dataId: object, force?: boolean): boolean;
}

interface BackpropFilterAttrs {
  strides: [number, number] | number;
  pad:
    | 'valid'
    | 'same'
    | number
    | [[number, number], [number, number], [number, number], [number, number]];
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

function conv2DBackpropFilterWasm(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const x = args.inputs['x'] as tf.TensorInfo;
  const dy = args.inputs['dy'] as tf.TensorInfo;
  const attrs = args.attrs as unknown as BackpropFilterAttrs;
  if (attrs.dataFormat !== 'NHWC') {
    throw new Error(`Conv2DBackpropFilter (wasm): only NHWC is supported, got ${attrs.dataFormat}`);
  }
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') {
    throw new Error('Conv2DBackpropFilter (wasm): float32 tensors only');
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad as 'same',
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const m = batchSize * outHeight * outWidth;
  const k = fh * fw * inChannels;

  // Patches are written transposed, [K, M]: the wasm BatchMatMul is ~10x slower with
  // transposeA than on a plain [K, M] x [M, outC] product.
  const patches = backend.makeOutput([k, m], 'float32');
  // Views on the wasm heap are taken after the allocation: growing the heap detaches old views.
  const p = backend.typedArrayFromHeap(patches);
  const xv = backend.typedArrayFromHeap(x);
  const rowLen = inWidth * inChannels;
  const imgLen = inHeight * rowLen;
  for (let kh = 0; kh < fh; kh++) {
    for (let kw = 0; kw < fw; kw++) {
      for (let c = 0; c < inChannels; c++) {
        const base = ((kh * fw + kw) * inChannels + c) * m;
        let col = 0;
        for (let b = 0; b < batchSize; b++) {
          const xb = b * imgLen + c;
          for (let oh = 0; oh < outHeight; oh++) {
            const ih = oh * sh - padTop + kh;
            if (ih < 0 || ih >= inHeight) {
              p.fill(0, base + col, base + col + outWidth);
              col += outWidth;
              continue;
            }
            const xr = xb + ih * rowLen;
            for (let ow = 0; ow < outWidth; ow++, col++) {
              const iw = ow * sw - padLeft + kw;
              p[base + col] = iw < 0 || iw >= inWidth ? 0 : xv[xr + iw * inChannels]!;
            }
          }
        }
      }
    }
  }

  const matMul = tf.getKernel('BatchMatMul', 'wasm');
  if (!matMul) throw new Error('Conv2DBackpropFilter (wasm): BatchMatMul kernel is missing');
  const dy2d: tf.TensorInfo = { dataId: dy.dataId, shape: [m, outChannels], dtype: 'float32' };
  const product = matMul.kernelFunc({
    inputs: { a: patches, b: dy2d },
    backend: args.backend as tf.KernelBackend,
    attrs: { transposeA: false, transposeB: false },
  }) as tf.TensorInfo;
  backend.disposeData(patches.dataId);
  // [1, K, outC] is laid out exactly as the filter [fh, fw, inC, outC]: reshape by relabelling.
  return { dataId: product.dataId, shape: [...attrs.filterShape], dtype: 'float32' };
}

/** Registers the kernel once; a no-op when the wasm backend already has one. */
export function registerWasmConv2DBackpropFilter(): void {
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm')) return;
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: conv2DBackpropFilterWasm as unknown as tf.KernelFunc,
  });
}

/**
 * A faster `Conv2DBackpropInput` for stride 1 on wasm. The stock kernel is a scalar loop
 * (~9x slower than the forward pass); for stride 1 the input gradient is itself a convolution:
 * dx = conv2d(dy, W'), W'[kh, kw, co, ci] = W[fh-1-kh, fw-1-kw, ci, co], padded by
 * (filter - 1 - original padding) on each side, which the XNNPACK forward kernel computes.
 * Other strides fall through to the stock kernel.
 */
function makeBackpropInputWasm(stock: tf.KernelFunc): tf.KernelFunc {
  return ((args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }) => {
    const backend = args.backend as WasmBackendLike;
    const dy = args.inputs['dy'] as tf.TensorInfo;
    const filter = args.inputs['filter'] as tf.TensorInfo;
    const attrs = args.attrs as unknown as Omit<BackpropFilterAttrs, 'filterShape'> & {
      inputShape: [number, number, number, number];
    };
    const conv = tf.getKernel('Conv2D', 'wasm');
    const strides =
      typeof attrs.strides === 'number' ? [attrs.strides, attrs.strides] : attrs.strides;
    if (
      !conv ||
      attrs.dataFormat !== 'NHWC' ||
      strides[0] !== 1 ||
      strides[1] !== 1 ||
      dy.dtype !== 'float32' ||
      filter.dtype !== 'float32'
    ) {
      return stock(args as Parameters<tf.KernelFunc>[0]);
    }
    const [fh, fw, inC, outC] = filter.shape as [number, number, number, number];
    const info = tf.backend_util.computeConv2DInfo(
      attrs.inputShape,
      [fh, fw, inC, outC],
      1,
      1,
      attrs.pad as 'same',
      attrs.dimRoundingMode,
      false,
      'channelsLast',
    );
    const { top, bottom, left, right } = info.padInfo;
    const flipped = backend.makeOutput([fh, fw, outC, inC], 'float32');
    const dst = backend.typedArrayFromHeap(flipped);
    const src = backend.typedArrayFromHeap(filter);
    for (let kh = 0; kh < fh; kh++) {
      for (let kw = 0; kw < fw; kw++) {
        const s0 = ((fh - 1 - kh) * fw + (fw - 1 - kw)) * inC * outC;
        const d0 = (kh * fw + kw) * outC * inC;
        for (let ci = 0; ci < inC; ci++) {
          for (let co = 0; co < outC; co++) dst[d0 + co * inC + ci] = src[s0 + ci * outC + co]!;
        }
      }
    }
    const out = conv.kernelFunc({
      inputs: { x: dy, filter: flipped },
      backend: args.backend as tf.KernelBackend,
      attrs: {
        strides: [1, 1],
        pad: [
          [0, 0],
          [fh - 1 - top, fh - 1 - bottom],
          [fw - 1 - left, fw - 1 - right],
          [0, 0],
        ],
        dataFormat: 'NHWC',
        dilations: [1, 1],
        dimRoundingMode: attrs.dimRoundingMode,
      } as unknown as tf.NamedAttrMap,
    }) as tf.TensorInfo;
    backend.disposeData(flipped.dataId);
    return out;
  }) as unknown as tf.KernelFunc;
}

let backpropInputReplaced = false;

/** Replaces the stock wasm `Conv2DBackpropInput` with the stride-1 fast path above (once). */
export function registerWasmConv2DBackpropInput(): void {
  if (backpropInputReplaced) return;
  const stock = tf.getKernel('Conv2DBackpropInput', 'wasm');
  if (!stock) return;
  tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
  tf.registerKernel({
    kernelName: 'Conv2DBackpropInput',
    backendName: 'wasm',
    setupFunc: stock.setupFunc,
    kernelFunc: makeBackpropInputWasm(stock.kernelFunc),
  });
  backpropInputReplaced = true;
}
