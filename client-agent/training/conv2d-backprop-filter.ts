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

  const patches = backend.makeOutput([m, k], 'float32');
  // Views on the wasm heap are taken after the allocation: growing the heap detaches old views.
  const p = backend.typedArrayFromHeap(patches);
  const xv = backend.typedArrayFromHeap(x);
  const rowLen = inWidth * inChannels;
  const imgLen = inHeight * rowLen;
  let row = 0;
  for (let b = 0; b < batchSize; b++) {
    const xb = b * imgLen;
    for (let oh = 0; oh < outHeight; oh++) {
      const ih0 = oh * sh - padTop;
      for (let ow = 0; ow < outWidth; ow++, row++) {
        const iw0 = ow * sw - padLeft;
        let o = row * k;
        for (let kh = 0; kh < fh; kh++) {
          const ih = ih0 + kh;
          if (ih < 0 || ih >= inHeight) {
            p.fill(0, o, o + fw * inChannels);
            o += fw * inChannels;
            continue;
          }
          for (let kw = 0; kw < fw; kw++) {
            const iw = iw0 + kw;
            if (iw < 0 || iw >= inWidth) {
              p.fill(0, o, o + inChannels);
            } else {
              const src = xb + ih * rowLen + iw * inChannels;
              for (let c = 0; c < inChannels; c++) p[o + c] = xv[src + c];
            }
            o += inChannels;
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
    attrs: { transposeA: true, transposeB: false },
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
