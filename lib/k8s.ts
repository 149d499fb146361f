/** The Kubernetes 1.28 L1 classes shipped with cdk8s-plus-28 (`cdk8s import k8s` needs the network). */
export * from 'cdk8s-plus-28/lib/imports/k8s';
