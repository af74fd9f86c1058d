import * as fs from 'fs';
import * as path from 'path';
import { App, AppProps, Names, YamlOutputType } from 'cdk8s';
import { isRetained } from './retained';
import { stringifyYaml } from './_yaml';
import { PlatformChart } from './platform-chart';

export interface PlatformAppProps extends AppProps {
  /**
   * Receives one line per platform saying where its alerts' `runbook_url` points, so the
   * synth output shows where RUNBOOK.md must be published.
   * @default - `console.log`
   */
  readonly log?: (line: string) => void;
}

/** What `PlatformApp.synth()` writes for one `PlatformChart`, by file name relative to the outdir. */
export interface PlatformOutputFiles {
  /** The objects that may be pruned: `<chart>.k8s.yaml`, as cdk8s names it. */
  readonly manifest: string;
  /** The Namespace and PersistentVolumeClaims, never pruned or deleted: `<chart>-retained.k8s.yaml`. */
  readonly retained: string;
  /** The generated runbook: `RUNBOOK.md` (`RUNBOOK-<chart>.md` when the app has several platforms). */
  readonly runbook: string;
  /** Plain Alertmanager routing: `alertmanager.yaml` (`alertmanager-<chart>.yaml` with several platforms). */
  readonly alertmanager: string;
}

/**
 * A cdk8s `App` whose `synth()` writes, for every `PlatformChart` in it, everything the
 * platform needs beside its manifest: RUNBOOK.md, alertmanager.yaml and the retained objects'
 * own file (see README "Applying and pruning"). Other charts are written as `App` writes them.
 *
 * Use it in place of `App`; a plain `App` writes only the manifests.
 */
export class PlatformApp extends App {
  private readonly log: (line: string) => void;

  constructor(props: PlatformAppProps = {}) {
    super(props);
    if (this.yamlOutputType !== YamlOutputType.FILE_PER_CHART) {
      throw new Error(
        `PlatformApp: yamlOutputType ${YamlOutputType[this.yamlOutputType]} is not supported; expected FILE_PER_CHART (the default), so that each platform's retained objects get their own file`,
      );
    }
    this.log = props.log ?? ((line) => console.log(line));
  }

  /** The platform charts of this app, in construct order. */
  public get platformCharts(): PlatformChart[] {
    return this.node.findAll().filter(PlatformChart.isPlatformChart);
  }

  /** The files `synth()` writes for a platform chart of this app. */
  public outputFiles(chart: PlatformChart): PlatformOutputFiles {
    const label = Names.toDnsLabel(chart);
    const several = this.platformCharts.length > 1;
    return {
      manifest: `${label}${this.outputFileExtension}`,
      retained: `${label}-retained${this.outputFileExtension}`,
      runbook: several ? `RUNBOOK-${label}.md` : 'RUNBOOK.md',
      alertmanager: several ? `alertmanager-${label}.yaml` : 'alertmanager.yaml',
    };
  }

  /**
   * Writes every chart's manifest (as `App` does), then for each platform chart splits the
   * retained objects into their own file and writes RUNBOOK.md and alertmanager.yaml. Everything
   * is rendered before the first file is written: a failure writes nothing.
   */
  public synth(): void {
    const outputs = this.platformCharts.map((chart) => {
      const names = this.outputFiles(chart);
      const objects = chart.toJson() as { metadata?: Record<string, unknown> }[];
      const extra = chart.extraFiles();
      return {
        chart,
        manifest: stringifyYaml(...objects.filter((o) => !isRetained(o))),
        files: {
          [names.retained]: stringifyYaml(...objects.filter(isRetained)),
          [names.runbook]: extra['RUNBOOK.md'],
          [names.alertmanager]: extra['alertmanager.yaml'],
        },
        names,
      };
    });
    super.synth();
    for (const { chart, manifest, files, names } of outputs) {
      // Rewritten in place: cdk8s prefixes an index (`0000-<chart>.k8s.yaml`) when charts depend on each other.
      const written = fs.readdirSync(this.outdir).find((f) => f === names.manifest || (/^\d{4}-/.test(f) && f.slice(5) === names.manifest));
      fs.writeFileSync(path.join(this.outdir, written ?? names.manifest), manifest);
      for (const [name, content] of Object.entries(files)) {
        fs.writeFileSync(path.join(this.outdir, name), content);
      }
      this.log(
        `${chart.node.id}: every alert's runbook_url is ${chart.config.monitoring.runbookBaseUrl}#<alert> (monitoring.runbookBaseUrl); ` +
          `publish ${path.join(this.outdir, names.runbook)} there`,
      );
    }
  }
}
