/**
 * package.json's `overrides` holds npm `file-type` at 21.x (engines: Node >= 20; the 22.x that
 * @nestjs/common asks for needs Node 22). @nestjs/common loads it for one thing: the magic-number
 * check of its file validation pipe. That check, through the overridden version, on real bytes.
 */
import { deflateSync } from 'node:zlib';
import { FileTypeValidator, ParseFilePipeBuilder } from '@nestjs/common';

/** A valid 1x1 PNG: signature, IHDR, IDAT, IEND (CRCs are not checked by a magic-number sniff). */
function png(): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    return Buffer.concat([len, Buffer.from(type), data, Buffer.alloc(4)]);
  };
  const ihdr = Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.from([0, 0]))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The fields of an uploaded file the validator reads (multer's shape). */
type Upload = Parameters<FileTypeValidator['isValid']>[0];
const file = (buffer: Buffer, mimetype: string) =>
  ({ buffer, mimetype, originalname: 'f', size: buffer.length }) as unknown as Upload;

describe('file-type under @nestjs/common on Node 20', () => {
  it('the file validation pipe sniffs magic numbers: a PNG passes, text claiming to be one fails', async () => {
    const validator = new FileTypeValidator({ fileType: 'image/png' });
    expect(await validator.isValid(file(png(), 'image/png'))).toBe(true);
    expect(await validator.isValid(file(Buffer.from('not an image at all'), 'image/png'))).toBe(
      false,
    );
    const pipe = new ParseFilePipeBuilder().addFileTypeValidator({ fileType: 'image/png' }).build();
    await expect(pipe.transform(file(png(), 'image/png'))).resolves.toBeDefined();
    await expect(pipe.transform(file(Buffer.from('%PDF-1.7\n'), 'image/png'))).rejects.toThrow(
      /expected type is image\/png/,
    );
  });
});
