// STYLE.md: every optional prop of a public construct interface says what happens when it is
// left out (`@default <value>` or `@default - <what happens>`), never `@default undefined`.
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

const CONSTRUCTS = path.resolve(__dirname, '../src/constructs');

/** `<file>: <Interface>.<prop>` of each optional property of an exported interface, with its `@default` text (undefined: none). */
function optionalProps(): { where: string; defaultText: string | undefined }[] {
  return fs
    .readdirSync(CONSTRUCTS)
    .filter((f) => f.endsWith('.ts') && !f.startsWith('_'))
    .flatMap((f) => {
      const source = ts.createSourceFile(f, fs.readFileSync(path.join(CONSTRUCTS, f), 'utf8'), ts.ScriptTarget.Latest, true);
      return source.statements
        .filter(ts.isInterfaceDeclaration)
        .filter((i) => i.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword))
        .flatMap((i) =>
          i.members.filter(ts.isPropertySignature).filter((m) => m.questionToken !== undefined).map((m) => {
            const tag = ts.getJSDocTags(m).find((t) => t.tagName.text === 'default');
            return { where: `${f}: ${i.name.text}.${m.name.getText(source)}`, defaultText: tag === undefined ? undefined : ts.getTextOfJSDocComment(tag.comment) ?? '' };
          }),
        );
    });
}

describe('construct props', () => {
  const props = optionalProps();

  test('the walk finds the optional props (e.g. BlueGreenService.smokeTestTtl)', () => {
    expect(props.find((p) => p.where === 'blue-green-service.ts: BlueGreenServiceProps.smokeTestTtl')?.defaultText).toEqual('Duration.days(1)');
  });

  test('every optional prop has a @default saying what happens', () => {
    const missing = props.filter((p) => p.defaultText === undefined || p.defaultText.trim() === '' || p.defaultText.trim() === 'undefined');
    expect(missing.map((p) => p.where)).toEqual([]);
  });
});
